"""Build macros shared by every pktkit package.

pktkit_test       a GoogleTest unit test (size small unless told).
pktkit_fuzz_test  a libFuzzer target: `name` replays its seed corpus under ASan+UBSan in
                  every plain `bazel test`; `name_fuzzer` is the real fuzzer (manual; build
                  with --config=libfuzzer, which uses clang).
pktkit_benchmark  a Google Benchmark binary plus `name_smoke`, a test that runs each
                  benchmark once so a broken benchmark fails CI (timings are never checked).
"""

_SANITIZE = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
]

def pktkit_test(name, srcs, deps = [], size = "small", tags = [], data = [], **kwargs):
    native.cc_test(
        name = name,
        srcs = srcs,
        deps = deps + ["@system//:gtest_main"],
        size = size,
        tags = tags,
        data = data,
        **kwargs
    )

def pktkit_fuzz_test(name, srcs, corpus, deps = [], tags = []):
    """`corpus` is a folder (relative to this package) holding the seed inputs."""
    files = native.glob([corpus + "/**"])
    native.cc_test(
        name = name,
        srcs = srcs,
        deps = deps + ["//tests/fuzz:replay_main"],
        copts = _SANITIZE,
        linkopts = _SANITIZE,
        data = files,
        args = [native.package_name() + "/" + corpus],
        size = "small",
        tags = tags + ["fuzz"],
    )
    native.cc_binary(
        name = name + "_fuzzer",
        srcs = srcs,
        deps = deps,
        copts = ["-fsanitize=fuzzer,address,undefined", "-fno-omit-frame-pointer"],
        linkopts = ["-fsanitize=fuzzer,address,undefined", "-fsanitize-link-c++-runtime"],
        tags = ["manual"],
    )

def pktkit_benchmark(name, srcs, deps = [], **kwargs):
    native.cc_binary(
        name = name,
        srcs = srcs,
        deps = deps + ["@system//:benchmark_main"],
        **kwargs
    )
    native.sh_test(
        name = name + "_smoke",
        srcs = ["//tests:run_benchmark_smoke.sh"],
        args = ["$(location :%s)" % name],
        data = [":" + name],
        size = "small",
        tags = ["benchmark"],
    )
