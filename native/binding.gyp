# node-gyp build of the native addon (`npm run build:native`; scripts/setup.sh runs it when the
# .node file is missing or older than its sources): AF_PACKET sockets for layer 2, and BGP's TCP
# connections with MD5 signatures and TTL (tcp_socket.cc). One module, so the image ships one file.
# Linux only: AF_PACKET has no equivalent elsewhere.
{
  "targets": [
    {
      "target_name": "packet_socket",
      "sources": ["packet_socket.cc", "tcp_socket.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # N-API 8 (Node >= 12.22) is all this uses. Errors travel as pending JS exceptions, so the
      # addon builds without C++ exception support.
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-Wall", "-Wextra"],
    }
  ]
}
