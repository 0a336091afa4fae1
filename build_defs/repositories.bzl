"""pktkit's external repositories, for a WORKSPACE that depends on pktkit.

A user's WORKSPACE (see examples/WORKSPACE):

    local_repository(name = "pktkit", path = "/path/to/pktkit")   # or http_archive
    load("@pktkit//build_defs:repositories.bzl", "pktkit_dependencies")
    pktkit_dependencies()

Everything is offline: Debian's system libraries under /usr (libpcap, liburing, Abseil, ...; see
setup.sh) as `@system`, and local stand-ins for the repositories Bazel 4 would otherwise download
(rules_cc, rules_java, remote_coverage_tools). A repository the WORKSPACE already declares is left
alone, so a user can bring their own.
"""

def _pktkit_stub_impl(ctx):
    # third_party/stubs/<name> has a WORKSPACE of its own (it is a repository, not a package),
    # so it is found from a file in a real package beside it.
    stubs = ctx.path(Label("//third_party/system:system.BUILD")).dirname.dirname.get_child("stubs")
    src = stubs.get_child(ctx.attr.stub)
    for entry in src.readdir():
        ctx.symlink(entry, entry.basename)

_pktkit_stub = repository_rule(
    implementation = _pktkit_stub_impl,
    attrs = {"stub": attr.string(mandatory = True)},
    local = True,
)

def pktkit_dependencies(system_prefix = "/usr"):
    """Declares the repositories pktkit's BUILD files refer to (skipping those already declared).

    Args:
      system_prefix: where Debian's libraries and headers are (`@system`, link options only:
        the headers are found through the toolchain's built-in include directories).
    """
    for stub in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        if not native.existing_rule(stub):
            _pktkit_stub(name = stub, stub = stub)
    if not native.existing_rule("system"):
        native.new_local_repository(
            name = "system",
            build_file = str(Label("//third_party/system:system.BUILD")),
            path = system_prefix,
        )
