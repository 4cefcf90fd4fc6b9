// Outgoing TCP connections for BGP sessions with the socket options Node cannot set: TCP_MD5SIG
// (RFC 2385 signatures, MetalLB's peer `password`) and the unicast TTL / hop limit (1 for a
// single-hop eBGP peer, as FRR and BIRD send). The socket is created, configured and bound here,
// the non-blocking connect is driven by uv_poll on Node's own event loop (no thread, nothing
// blocks), and the connected descriptor is handed to JavaScript, which wraps it in a net.Socket:
// from then on Node owns and closes it. Wrapped (and typed) by speaker/bgp/tcp-connect.ts.

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>

#include "fd_poll.h"

namespace {

// An Error shaped like Node's own system errors: code ("ECONNREFUSED"), errno and syscall.
Napi::Error SystemError(Napi::Env env, const char* syscall, int err) {
  char name[64];
  uv_err_name_r(-err, name, sizeof name);
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + " failed: " + strerror(err));
  error.Set("code", Napi::String::New(env, name));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

// A numeric IPv4 or IPv6 address (IPv6 with an optional %zone, for link-local peers) and a port.
// Host names are refused: a BGP peer is configured by address.
bool ParseAddress(const std::string& text, uint16_t port, sockaddr_storage* out, socklen_t* length) {
  memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *length = sizeof *v4;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  const size_t percent = text.find('%');
  const std::string address = text.substr(0, percent);
  if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) != 1) return false;
  if (percent != std::string::npos) {
    v6->sin6_scope_id = if_nametoindex(text.substr(percent + 1).c_str());
    if (v6->sin6_scope_id == 0) return false;
  }
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  *length = sizeof *v6;
  return true;
}

class TcpConnect : public Napi::ObjectWrap<TcpConnect> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TcpConnect", {InstanceMethod<&TcpConnect::Cancel>("cancel")});
  }

  // new TcpConnect({ host, port, localAddress?, md5Password?, ttl? }, onDone(error, fd))
  // Throws for bad arguments and for failures before the connection is under way (socket, options,
  // bind, an immediate connect error such as ENETUNREACH); later ones go to onDone. onDone is called
  // exactly once unless cancel() comes first, and never from inside the constructor.
  explicit TcpConnect(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<TcpConnect>(info),
        async_context_(info.Env(), "TcpConnect", info.This().As<Napi::Object>()) {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "expected (options, onDone)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object options = info[0].As<Napi::Object>();
    Napi::Value host = options.Get("host");
    Napi::Value port = options.Get("port");
    if (!host.IsString() || !port.IsNumber()) {
      Napi::TypeError::New(env, "options.host (string) and options.port (number) are required")
          .ThrowAsJavaScriptException();
      return;
    }
    const uint32_t port_number = port.As<Napi::Number>().Uint32Value();
    sockaddr_storage peer{};
    socklen_t peer_length = 0;
    if (port_number == 0 || port_number > 65535 ||
        !ParseAddress(host.As<Napi::String>().Utf8Value(), static_cast<uint16_t>(port_number), &peer,
                      &peer_length)) {
      Napi::TypeError::New(env, "options.host must be a numeric IP address and options.port 1-65535")
          .ThrowAsJavaScriptException();
      return;
    }
    sockaddr_storage local{};
    socklen_t local_length = 0;
    Napi::Value local_address = options.Get("localAddress");
    if (!local_address.IsUndefined()) {
      if (!local_address.IsString() ||
          !ParseAddress(local_address.As<Napi::String>().Utf8Value(), 0, &local, &local_length) ||
          local.ss_family != peer.ss_family) {
        Napi::TypeError::New(env, "options.localAddress must be an IP address of the peer's family")
            .ThrowAsJavaScriptException();
        return;
      }
    }
    std::string password;
    Napi::Value md5 = options.Get("md5Password");
    if (!md5.IsUndefined()) {
      if (!md5.IsString()) {
        Napi::TypeError::New(env, "options.md5Password must be a string").ThrowAsJavaScriptException();
        return;
      }
      password = md5.As<Napi::String>().Utf8Value();
      if (password.empty() || password.size() > TCP_MD5SIG_MAXKEYLEN) {
        Napi::TypeError::New(env, "options.md5Password must be 1-80 bytes").ThrowAsJavaScriptException();
        return;
      }
    }
    int ttl = 0;
    Napi::Value ttl_value = options.Get("ttl");
    if (!ttl_value.IsUndefined()) {
      ttl = ttl_value.IsNumber() ? ttl_value.As<Napi::Number>().Int32Value() : 0;
      if (ttl < 1 || ttl > 255) {
        Napi::TypeError::New(env, "options.ttl must be 1-255").ThrowAsJavaScriptException();
        return;
      }
    }

    int fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
      SystemError(env, "socket", errno).ThrowAsJavaScriptException();
      return;
    }
    // The key must be in place before the SYN leaves: every segment of the connection is signed.
    // It is bound to the peer's address (the port is ignored by the kernel).
    if (!password.empty()) {
      tcp_md5sig key{};
      memcpy(&key.tcpm_addr, &peer, peer_length);
      key.tcpm_keylen = static_cast<uint16_t>(password.size());
      memcpy(key.tcpm_key, password.data(), password.size());
      if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &key, sizeof key) < 0) {
        Fail(env, fd, "setsockopt(TCP_MD5SIG)", errno);
        return;
      }
    }
    if (ttl != 0) {
      const bool v4 = peer.ss_family == AF_INET;
      if (setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_UNICAST_HOPS, &ttl, sizeof ttl) <
          0) {
        Fail(env, fd, v4 ? "setsockopt(IP_TTL)" : "setsockopt(IPV6_UNICAST_HOPS)", errno);
        return;
      }
    }
    if (local_length != 0) {
      // Port chosen at connect time rather than reserved by bind(): source ports are then shared by
      // all destinations, as for an unbound connect. Best effort (Linux >= 4.2).
      if (peer.ss_family == AF_INET) {
        int on = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
      }
      if (bind(fd, reinterpret_cast<sockaddr*>(&local), local_length) < 0) {
        Fail(env, fd, "bind", errno);
        return;
      }
    }
    int result;
    do {
      result = connect(fd, reinterpret_cast<sockaddr*>(&peer), peer_length);
    } while (result < 0 && errno == EINTR);
    if (result < 0 && errno != EINPROGRESS) {
      Fail(env, fd, "connect", errno);
      return;
    }

    // Writable once the handshake finished or failed (also at once if connect() already succeeded):
    // SO_ERROR then tells which.
    int err = fd_poll::Start(env, fd, UV_WRITABLE, this, OnPoll, &poll_);
    if (err != 0) {
      Fail(env, fd, "uv_poll_start", -err);
      return;
    }
    fd_ = fd;
    on_done_ = Napi::Persistent(info[1].As<Napi::Function>());
    // A pending connect keeps its JS object (and callback) alive, as Node's own handles do.
    Ref();
  }

  ~TcpConnect() override { Abandon(); }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<TcpConnect*>(handle->data);
    // A failed handshake sets POLLERR, which libuv reports as UV_EBADF: SO_ERROR has the reason.
    int err = 0;
    socklen_t length = sizeof err;
    if (getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &length) < 0) err = errno;
    if (err == 0 && status < 0) err = -status;
    self->result_ = err;
    self->ClosePoll();
  }

  // Closing the poll handle takes the descriptor out of libuv's watch list at once; the outcome is
  // delivered from the close callback, one loop turn later, when the handle is fully gone and the
  // descriptor can be given to a net.Socket (which watches it with a handle of its own).
  void ClosePoll() {
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), OnClosed);
    poll_ = nullptr;
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* self = static_cast<TcpConnect*>(handle->data);
    delete reinterpret_cast<uv_poll_t*>(handle);
    self->Finish();
  }

  void Finish() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    const int fd = fd_;
    fd_ = -1;
    if (cancelled_ || result_ != 0) close(fd);
    if (!cancelled_) {
      Napi::CallbackScope callback_scope(env, async_context_);
      Napi::FunctionReference on_done = std::move(on_done_);
      if (result_ != 0) {
        on_done.Call(Value(), {SystemError(env, "connect", result_).Value(), env.Undefined()});
      } else {
        on_done.Call(Value(), {env.Null(), Napi::Number::New(env, fd)});
      }
      // A throw there is the program's uncaught exception, as for any Node callback.
      if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
    }
    Unref();
  }

  void Fail(Napi::Env env, int fd, const char* syscall, int err) {
    close(fd);
    SystemError(env, syscall, err).ThrowAsJavaScriptException();
  }

  // Gives up a connection under way: the callback will not run and the descriptor is closed (from
  // the poll handle's close callback, like every outcome). Safe to repeat, and after completion.
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    if (fd_ >= 0 && !cancelled_) {
      cancelled_ = true;
      on_done_.Reset();
      if (poll_ != nullptr) ClosePoll();  // else already closing: Finish sees the flag
    }
    return info.Env().Undefined();
  }

  // Only for an object destroyed with its poll handle still open (the environment shutting down):
  // a pending connect is otherwise kept alive by its reference.
  void Abandon() {
    if (poll_ == nullptr) return;
    // Closing the handle stops polling; only then may the descriptor go (libuv's uv_poll rule).
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), fd_poll::Free);
    poll_ = nullptr;
    close(fd_);
    fd_ = -1;
  }

  int fd_ = -1;
  int result_ = 0;
  bool cancelled_ = false;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference on_done_;
  Napi::AsyncContext async_context_;
};

}  // namespace

// Called from the module's Init (packet_socket.cc), so one addon file carries both.
void InitTcpSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("TcpConnect", TcpConnect::Define(env));
}
