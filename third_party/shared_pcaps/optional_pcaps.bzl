"""optional_pcaps: the shared real captures beside the checkout, when they are there.

A fresh clone has no `../shared/pcaps`; `new_local_repository` would then fail analysis of
every target (and so `./test.sh` as a whole). This rule links each capture of the folder when it
exists, and otherwise makes an empty repository whose only file is the marker `ABSENT`, so
tests that read the captures can say in one line that they are skipped
(tests/testing/shared_pcaps.h, and `[ -e ../shared_pcaps/ABSENT ]` in shell tests).

`local = True`: re-evaluated when Bazel's server restarts, so a folder that appears later is
picked up after `bazel shutdown`.
"""

_BUILD = """package(default_visibility = ["//visibility:public"])
filegroup(name = "pcaps", srcs = {srcs})
"""

def _optional_pcaps_impl(ctx):
    root = ctx.path(Label("//:WORKSPACE")).dirname
    folder = root
    for part in ctx.attr.path.split("/"):
        folder = folder.dirname if part == ".." else folder.get_child(part)
    srcs = []
    if folder.exists:
        for f in folder.readdir():
            if f.basename.endswith(".pcap") or f.basename.endswith(".pcapng"):
                ctx.symlink(f, f.basename)
                srcs.append(f.basename)
    if not srcs:
        ctx.file("ABSENT", "no captures at %s (relative to the checkout)\n" % ctx.attr.path)
        srcs = ["ABSENT"]
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD", _BUILD.format(srcs = repr(sorted(srcs))))

optional_pcaps = repository_rule(
    implementation = _optional_pcaps_impl,
    attrs = {"path": attr.string(mandatory = True, doc = "folder, relative to the checkout")},
    local = True,
)
