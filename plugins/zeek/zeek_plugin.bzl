"""The Zeek plugin layer: one macro builds a complete dynamic plugin directory, one installs it,
one wraps its tests. Every plugin under plugins/zeek/ uses these.

zeek_plugin(name, namespace, plugin_name, srcs, bifs, scripts, deps)
    :name           the plugin directory <Namespace>_<Name>/ (the lib/<Namespace>-<Name>.linux-
                    x86_64.so, the __zeek_plugin__ marker, lib/bif/ from bifcl, scripts/), ready
                    for ZEEK_PLUGIN_PATH=$(bazel info bazel-bin)/<package>
    :name_install   `bazel run` it to copy the directory into `zeek-config --plugin_dir` (or the
                    directory given as first argument)
zeek_plugin_test(name, srcs, plugin, ...)
    an sh_test that gets the plugin directory's parent, Zeek's bin directory and the skip policy
    as arguments.

Without a Zeek installation (@zeek//:zeek_config.bzl ZEEK_FOUND = False) the plugin target
writes a one-line note and tests print one skip line and pass (fail when PKTKIT_REQUIRE_ZEEK=1
was set when Bazel looked for Zeek).
"""

load("@zeek//:zeek_config.bzl", "ZEEK_BIN_DIR", "ZEEK_FOUND", "ZEEK_REQUIRED", "ZEEK_SKIP_MESSAGE")

def _basename(p):
    return p.rsplit("/", 1)[-1]

def zeek_plugin(name, namespace, plugin_name, srcs, bifs = [], scripts = [], deps = [], visibility = None):
    """`scripts` are paths under this package's scripts/ folder."""
    dirname = namespace + "_" + plugin_name
    if not ZEEK_FOUND:
        native.genrule(
            name = name,
            outs = [dirname + ".skipped"],
            cmd = "echo '%s' > $@" % ZEEK_SKIP_MESSAGE,
            visibility = visibility,
        )
        native.sh_binary(
            name = name + "_install",
            srcs = ["//plugins/zeek:skip.sh"],
            args = ["'%s'" % ZEEK_SKIP_MESSAGE],
        )
        return

    bif_cc = []
    bif_zeek = []
    for b in bifs:
        base = _basename(b)
        outs = [base + ext for ext in [".h", ".cc", ".init.cc", ".register.cc", ".zeek"]]
        native.genrule(
            name = name + "_bifcl_" + base.replace(".", "_"),
            srcs = [b],
            outs = outs,
            tools = ["@zeek//:bifcl"],
            cmd = "src=$$PWD/$<; bifcl=$$PWD/$(location @zeek//:bifcl); cd $(@D) && " +
                  "$$bifcl -p %s::%s $$src >/dev/null" % (namespace, plugin_name),
        )
        bif_cc += [o for o in outs if o.endswith(".cc") or o.endswith(".h")]
        bif_zeek.append(base + ".zeek")

    so = "%s-%s.linux-x86_64.so" % (namespace, plugin_name)
    bif_lib = []
    if bif_cc:
        # bifcl's output: every BIF gets a `frame` parameter it may not use.
        native.cc_library(
            name = name + "_bif",
            srcs = [f for f in bif_cc if f.endswith(".cc")],
            hdrs = [f for f in bif_cc if f.endswith(".h")] + [h for h in srcs if h.endswith(".h")],
            copts = ["-Wno-unused-parameter"],
            deps = deps + ["@zeek//:headers"],
            alwayslink = 1,
        )
        bif_lib = [":" + name + "_bif"]
    native.cc_binary(
        name = so,
        srcs = srcs + [f for f in bif_cc if f.endswith(".h")],
        deps = deps + bif_lib + ["@zeek//:headers"],
        linkshared = 1,
        # The plugin's undefined symbols are Zeek's own, resolved when zeek dlopen()s it.
        copts = ["-fvisibility-inlines-hidden"],
    )

    cmds = [
        "d=$(@D)/%s" % dirname,
        "mkdir -p $$d/lib/bif $$d/scripts",
        "echo '%s::%s' > $$d/__zeek_plugin__" % (namespace, plugin_name),
        "cp $(location :%s) $$d/lib/%s" % (so, so),
        "chmod 755 $$d/lib/%s" % so,
    ]
    outs = [dirname + "/__zeek_plugin__", dirname + "/lib/" + so]
    load_lines = []
    for z in bif_zeek:
        cmds.append("cp $(location :%s) $$d/lib/bif/%s" % (z, z))
        outs.append(dirname + "/lib/bif/" + z)
        load_lines.append("@load ./" + z)
    cmds.append("printf '%s\\n' > $$d/lib/bif/__load__.zeek" % "\\n".join(
        ["# Generated from the plugin bifcl output."] + load_lines,
    ))
    outs.append(dirname + "/lib/bif/__load__.zeek")
    script_srcs = []
    for s in scripts:
        sub = s.rsplit("/", 1)[0] if "/" in s else ""
        cmds.append("mkdir -p $$d/scripts/%s && cp $(location scripts/%s) $$d/scripts/%s" % (sub, s, s))
        outs.append(dirname + "/scripts/" + s)
        script_srcs.append("scripts/" + s)
    native.genrule(
        name = name,
        srcs = [":" + so] + [":" + z for z in bif_zeek] + script_srcs,
        outs = outs,
        cmd = " && ".join(cmds),
        visibility = visibility,
    )
    native.sh_binary(
        name = name + "_install",
        srcs = ["//plugins/zeek:install_plugin.sh"],
        data = [":" + name, ":" + dirname + "/__zeek_plugin__"],
        args = [
            "$(location :%s)" % (dirname + "/__zeek_plugin__"),
            ZEEK_BIN_DIR + "/zeek-config",
        ],
    )

def zeek_plugin_test(name, srcs, plugin, data = [], args = [], size = "medium", tags = []):
    """plugin: the zeek_plugin target; the test's first argument is its __zeek_plugin__ file."""
    plugin_marker = plugin + "/__zeek_plugin__"
    if not ZEEK_FOUND:
        native.sh_test(
            name = name,
            srcs = ["//plugins/zeek:skip.sh"],
            args = ["'%s'" % ZEEK_SKIP_MESSAGE, "1" if ZEEK_REQUIRED else "0"],
            size = "small",
            tags = tags,
        )
        return
    native.sh_test(
        name = name,
        srcs = srcs,
        data = data + [plugin, plugin_marker],
        args = ["$(location %s)" % plugin_marker, ZEEK_BIN_DIR] + args,
        size = size,
        tags = tags,
    )
