# The native probe engine (see src/probes/engine/native-binding.ts), built
# from source at install by scripts/build-native.mjs. Linux only (epoll);
# OpenSSL comes from the headers Node.js ships and the symbols of the
# running node binary, so nothing is linked or downloaded.
{
  "targets": [
    {
      "target_name": "probe_engine",
      "sources": [
        "src/addon.c",
        "src/loop.c",
        "src/icmp.c",
        "src/http.c",
        "src/tls.c"
      ],
      "defines": [
        "_GNU_SOURCE",
        "NAPI_VERSION=8",
        "PROBE_ENGINE_VERSION=\"1.0.0\""
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2", "-fvisibility=hidden"],
      "cflags!": ["-O3"],
      "conditions": [
        ["OS!='linux'", {
          "sources": [],
          "actions": [
            {
              "action_name": "unsupported",
              "inputs": [],
              "outputs": ["unsupported"],
              "action": ["sh", "-c", "echo 'the native probe engine needs Linux (epoll)' >&2; exit 1"]
            }
          ]
        }]
      ]
    }
  ]
}
