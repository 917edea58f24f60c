# The @sgwire/nic native addon: the native kernel UDP and TCP sockets (kernel/, Linux system calls only)
# and, optionally, DPDK. DPDK support is compiled in only when `pkg-config libdpdk`
# finds DPDK (Debian: libdpdk-dev); without it the addon still builds and reports hasDpdk=false,
# so `openPort({ backend: "dpdk" })` can say which package to install.
# The ibverbs backend is a second addon (sgwire_ibverbs.node), defined only when pkg-config finds
# libibverbs and librdmacm (Debian: libibverbs-dev, librdmacm-dev).
# NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a method that fails while its environment is ending (a
# worker being terminated mid-call) must not turn its error into std::terminate: node-addon-api
# otherwise rethrows in C++ when napi_throw is refused, and that aborts the whole process.
{
  "variables": {
    "sgwire_dpdk%": "<!(pkg-config --exists libdpdk 2>/dev/null && echo 1 || echo 0)",
    "sgwire_ibverbs%": "<!(pkg-config --exists libibverbs librdmacm 2>/dev/null && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "sgwire_nic",
      "sources": ["addon.cc", "kernel/udp.cc", "kernel/tcp.cc", "kernel/uring.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wall", "-Wno-deprecated-declarations"],
      "conditions": [
        ["sgwire_dpdk==1", {
          "sources": ["dpdk/eal.cc", "dpdk/device.cc", "dpdk/tx.cc", "dpdk/rx.cc", "dpdk/binding.cc"],
          "defines": ["SGWIRE_HAVE_DPDK=1"],
          "cflags_cc": ["<!@(pkg-config --cflags libdpdk)"],
          "libraries": ["<!@(pkg-config --libs libdpdk)", "-lrte_bus_vdev"]
        }]
      ]
    }
  ],
  "conditions": [
    ["sgwire_ibverbs==1", {
      "targets": [
        {
          "target_name": "sgwire_ibverbs",
          "sources": ["ibverbs/addon.cc", "ibverbs/binding.cc", "ibverbs/device.cc", "ibverbs/cm.cc", "ibverbs/send.cc", "ibverbs/recv.cc"],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
          "cflags!": ["-fno-exceptions"],
          "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
          "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wall", "<!@(pkg-config --cflags libibverbs librdmacm)"],
          "libraries": ["<!@(pkg-config --libs libibverbs librdmacm)"]
        }
      ]
    }]
  ]
}
