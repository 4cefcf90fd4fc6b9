// Watching a socket's file descriptor on Node's event loop, shared by the packet and TCP sockets.
#pragma once

#include <node_api.h>
#include <uv.h>

namespace fd_poll {

// Frees a poll handle once libuv has closed it (uv_close's callback).
inline void Free(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

// Starts watching `fd` for `events` with `callback`, `data` in the handle. On success *handle holds
// the new handle and 0 is returned; on failure a negative libuv error, and nothing is left behind.
inline int Start(napi_env env, int fd, int events, void* data, uv_poll_cb callback, uv_poll_t** handle) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto* poll = new uv_poll_t;
  int err = uv_poll_init(loop, poll, fd);
  if (err != 0) {
    delete poll;
    return err;
  }
  poll->data = data;
  err = uv_poll_start(poll, events, callback);
  if (err != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(poll), Free);
    return err;
  }
  *handle = poll;
  return 0;
}

}  // namespace fd_poll
