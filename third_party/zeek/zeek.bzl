"""@zeek: the Zeek installation the plugins build against, found the way Zeek users expect.

Looks for `zeek-config` in $ZEEK_PREFIX/bin, then on PATH (nothing else). When found, the
repository holds:
  //:headers        cc_library over `zeek-config --include_dir` (minus /usr/include) and the
                    bundled prometheus-cpp headers, as -isystem so Zeek's warnings stay out of ours
  //:bifcl, //:zeek, //:zeek-config   the installation's tools
  //:zeek_config.bzl  ZEEK_FOUND, ZEEK_VERSION, ZEEK_PREFIX, ZEEK_PLUGIN_DIR, ZEEK_BIN_DIR
When not found, the same names exist as stubs (ZEEK_FOUND = False) so the repository stays
green: plugin targets build a one-line note and plugin tests print one skip line.
ZEEK_REQUIRED mirrors $PKTKIT_REQUIRE_ZEEK=1 (CI): then the skip becomes a failure.
"""

_SKIP = "skipped: no Zeek found (zeek-config not on PATH, ZEEK_PREFIX unset)"

def _run(rctx, zc, arg):
    r = rctx.execute([zc, arg])
    if r.return_code != 0:
        fail("%s %s failed: %s" % (zc, arg, r.stderr))
    return r.stdout.strip()

def _link_tree(rctx, src, dst):
    # File by file: Zeek's include tree holds a symlink to its own parent (zeek/include/zeek
    # -> ..), which Bazel's glob refuses as an infinite expansion. `find` without -L does not
    # follow it.
    r = rctx.execute(["find", src, "-type", "f"])
    if r.return_code != 0:
        fail("find %s failed: %s" % (src, r.stderr))
    for f in r.stdout.splitlines():
        if f.startswith(src + "/"):
            rctx.symlink(f, dst + "/" + f[len(src) + 1:])

def _zeek_repository_impl(rctx):
    required = rctx.os.environ.get("PKTKIT_REQUIRE_ZEEK", "") == "1"
    zc = None
    prefix_env = rctx.os.environ.get("ZEEK_PREFIX", "")
    if prefix_env:
        p = rctx.path(prefix_env + "/bin/zeek-config")
        if p.exists:
            zc = p
    if zc == None:
        zc = rctx.which("zeek-config")
    if zc == None:
        rctx.file("zeek_config.bzl", "\n".join([
            "ZEEK_FOUND = False",
            "ZEEK_REQUIRED = %s" % required,
            "ZEEK_VERSION = \"\"",
            "ZEEK_PREFIX = \"\"",
            "ZEEK_PLUGIN_DIR = \"\"",
            "ZEEK_BIN_DIR = \"\"",
            "ZEEK_SKIP_MESSAGE = \"%s\"" % _SKIP,
            "",
        ]))
        rctx.file("BUILD", """package(default_visibility = ["//visibility:public"])
exports_files(["zeek_config.bzl"])
cc_library(name = "headers")
""")
        return

    prefix = _run(rctx, zc, "--prefix")
    version = _run(rctx, zc, "--version")
    plugin_dir = _run(rctx, zc, "--plugin_dir")
    include_dirs = [d for d in _run(rctx, zc, "--include_dir").split(":") if d]

    includes = []
    i = 0
    for d in include_dirs:
        if d in ["/usr/include", "/usr/local/include"]:
            continue  # already a system directory of the toolchain
        name = "include%d" % i
        _link_tree(rctx, d, name)
        includes.append(name)
        i += 1

    # The prometheus-cpp headers Zeek bundles (its telemetry headers include them); Zeek's
    # CMake package adds this directory for plugins, zeek-config does not name it.
    prom = rctx.path(prefix + "/include/zeek/3rdparty/prometheus-cpp/include")
    if prom.exists:
        _link_tree(rctx, str(prom), "prometheus_include")
        includes.insert(0, "prometheus_include")

    rctx.symlink(prefix + "/bin", "bin")
    rctx.file("zeek_config.bzl", "\n".join([
        "ZEEK_FOUND = True",
        "ZEEK_REQUIRED = %s" % required,
        "ZEEK_VERSION = \"%s\"" % version,
        "ZEEK_PREFIX = \"%s\"" % prefix,
        "ZEEK_PLUGIN_DIR = \"%s\"" % plugin_dir,
        "ZEEK_BIN_DIR = \"%s/bin\"" % prefix,
        "ZEEK_SKIP_MESSAGE = \"%s\"" % _SKIP,
        "",
    ]))
    globs = ", ".join(["\"%s/**\"" % d for d in includes])
    rctx.file("BUILD", """package(default_visibility = ["//visibility:public"])
exports_files(["zeek_config.bzl"])

# Zeek %s at %s (from %s).
cc_library(
    name = "headers",
    hdrs = glob([%s]),
    includes = %s,
    defines = ["DOCTEST_CONFIG_SUPER_FAST_ASSERTS"],
)

sh_binary(name = "bifcl", srcs = ["bin/bifcl"])
sh_binary(name = "zeek", srcs = ["bin/zeek"])
sh_binary(name = "zeek-config", srcs = ["bin/zeek-config"])
""" % (version, prefix, zc, globs, repr(includes)))

zeek_repository = repository_rule(
    implementation = _zeek_repository_impl,
    environ = ["PATH", "ZEEK_PREFIX", "PKTKIT_REQUIRE_ZEEK"],
    local = True,
)
