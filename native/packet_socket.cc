// AF_PACKET sockets for the speaker's layer-2 announcer. ARP has no IP-level socket at all, and NDP
// answers must come from the VIP, an address the node does not own, so both need whole Ethernet
// frames in and out. One socket is bound to one interface and one ethertype, non-blocking, and
// driven by uv_poll on Node's own event loop: no threads, frames arrive as ordinary callbacks.
// Wrapped (and typed) by speaker/layer2/packet-socket.ts; needs CAP_NET_RAW.

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "fd_poll.h"

// BGP's TCP connections (tcp_socket.cc), exported by this same module.
void InitTcpSocket(Napi::Env env, Napi::Object exports);

namespace {

// ARP (42 bytes) and NDP (86 with one option) fit many times over in a standard Ethernet frame
// (1514, or 1518 with a VLAN tag); a larger frame is neither, so it is counted and dropped.
constexpr size_t kMaxFrame = 1518;
// Frames read per wakeup before yielding, so a flood cannot starve timers and other I/O.
constexpr int kMaxFramesPerWakeup = 64;
constexpr uint32_t kWholeFrame = 0xffffffff;
constexpr uint16_t kArpRequest = 1;
constexpr uint8_t kNextHeaderIcmpv6 = 58;
constexpr uint8_t kIcmpv6NeighborSolicitation = 135;
// Ancillary load of skb->pkt_type: a negative offset the kernel reads as unsigned (linux/filter.h).
constexpr uint32_t kPacketTypeOffset = static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE);

// Classic BPF, run by the kernel before a frame is queued to us. Offsets count from the start of
// the Ethernet header (SOCK_RAW). Every program first refuses frames whose packet type is
// PACKET_OTHERHOST (3: not addressed to us, e.g. while in promiscuous mode, and VLAN-tagged
// frames with no VLAN device, which Linux marks so) or PACKET_OUTGOING (4: our own transmissions).
// Reading past the end of a short frame makes the program return 0, i.e. drop.
sock_filter kArpRequestsOnly[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kPacketTypeOffset),
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, PACKET_OTHERHOST, 4, 0),  // -> drop
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),                        // ethertype
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 0, 2),           // not ARP -> drop
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 14 + 6),                    // ARP operation
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArpRequest, 1, 0),         // request -> accept
    BPF_STMT(BPF_RET | BPF_K, 0),                                  // drop
    BPF_STMT(BPF_RET | BPF_K, kWholeFrame),                        // accept
};

sock_filter kNeighborSolicitationsOnly[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kPacketTypeOffset),
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, PACKET_OTHERHOST, 6, 0),           // -> drop
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),                                  // ethertype
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 4),                   // not IPv6 -> drop
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 6),                              // IPv6 next header
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNextHeaderIcmpv6, 0, 2),             // not ICMPv6 -> drop
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 40),                             // ICMPv6 type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kIcmpv6NeighborSolicitation, 1, 0),  // NS -> accept
    BPF_STMT(BPF_RET | BPF_K, 0),                                            // drop
    BPF_STMT(BPF_RET | BPF_K, kWholeFrame),                                  // accept
};

// An Error shaped like Node's own system errors: code ("ENETDOWN"), errno and syscall.
Napi::Error SystemError(Napi::Env env, const char* syscall, int err) {
  char name[64];
  uv_err_name_r(-err, name, sizeof name);
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + " failed: " + strerror(err));
  error.Set("code", Napi::String::New(env, name));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

class PacketSocket : public Napi::ObjectWrap<PacketSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PacketSocket",
                       {
                           InstanceMethod<&PacketSocket::Send>("send"),
                           InstanceMethod<&PacketSocket::AddMulticast>("addMulticast"),
                           InstanceMethod<&PacketSocket::DropMulticast>("dropMulticast"),
                           InstanceMethod<&PacketSocket::Close>("close"),
                           InstanceMethod<&PacketSocket::Counters>("counters"),
                       });
  }

  // new PacketSocket(ifindex, ethertype, filter: '' | 'arp' | 'ndp-ns', onFrame, onError)
  explicit PacketSocket(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<PacketSocket>(info),
        async_context_(info.Env(), "PacketSocket", info.This().As<Napi::Object>()) {
    Napi::Env env = info.Env();
    if (info.Length() != 5 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsString() ||
        !info[3].IsFunction() || !info[4].IsFunction()) {
      Napi::TypeError::New(env, "expected (ifindex, ethertype, filter, onFrame, onError)")
          .ThrowAsJavaScriptException();
      return;
    }
    ifindex_ = info[0].As<Napi::Number>().Int32Value();
    const uint16_t ethertype = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
    const std::string filter = info[2].As<Napi::String>().Utf8Value();
    sock_fprog program{};
    if (filter == "arp") {
      program = {sizeof kArpRequestsOnly / sizeof kArpRequestsOnly[0], kArpRequestsOnly};
    } else if (filter == "ndp-ns") {
      program = {sizeof kNeighborSolicitationsOnly / sizeof kNeighborSolicitationsOnly[0],
                 kNeighborSolicitationsOnly};
    } else if (!filter.empty()) {
      Napi::TypeError::New(env, "unknown filter " + filter).ThrowAsJavaScriptException();
      return;
    }

    // Protocol 0 at creation: the socket receives nothing until bind(), so no frame from another
    // interface or of another type is queued before the binding and the filter are in place.
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      SystemError(env, "socket", errno).ThrowAsJavaScriptException();
      return;
    }
    if (program.len > 0 && setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) < 0) {
      Fail(env, fd, "setsockopt(SO_ATTACH_FILTER)", errno);
      return;
    }
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ethertype);
    address.sll_ifindex = ifindex_;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
      Fail(env, fd, "bind", errno);
      return;
    }

    int err = fd_poll::Start(env, fd, UV_READABLE, this, OnPoll, &poll_);
    if (err != 0) {
      Fail(env, fd, "uv_poll_start", -err);
      return;
    }
    fd_ = fd;
    on_frame_ = Napi::Persistent(info[3].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[4].As<Napi::Function>());
    // An open socket keeps its JS object (and so its callbacks) alive even when the caller drops
    // every reference, as Node's own handles do; close() lets it go.
    Ref();
    referenced_ = true;
  }

  ~PacketSocket() override { Shutdown(); }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<PacketSocket*>(handle->data);
    Napi::HandleScope scope(self->Env());
    // One callback scope per wakeup rather than MakeCallback per frame: microtasks and nextTicks
    // run once after the batch, which makes a flood about a fifth cheaper to take in.
    Napi::CallbackScope callback_scope(self->Env(), self->async_context_);
    if (status == UV_EBADF && self->fd_ >= 0) {
      self->RecoverFromSocketError();
      return;
    }
    if (status < 0) {
      self->ReportError("poll", -status);
      return;
    }
    self->ReadFrames();
  }

  // A pending socket error (the kernel sets ENETDOWN on a packet socket whose interface goes down)
  // makes poll() report POLLERR, which libuv turns into UV_EBADF and a stopped handle. Fetch the
  // real error, which also clears it, report it, and poll again: the kernel re-attaches the socket
  // by itself when the interface comes back up.
  void RecoverFromSocketError() {
    int err = 0;
    socklen_t length = sizeof err;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &length) < 0) {
      ReportError("getsockopt(SO_ERROR)", errno);
      return;
    }
    if (err != 0) ReportError("getsockopt(SO_ERROR)", err);
    if (fd_ < 0) return;  // closed by the error callback
    int restart = uv_poll_start(poll_, UV_READABLE, OnPoll);
    if (restart != 0) ReportError("uv_poll_start", -restart);
  }

  void Fail(Napi::Env env, int fd, const char* syscall, int err) {
    close(fd);
    SystemError(env, syscall, err).ThrowAsJavaScriptException();
  }

  void ReadFrames() {
    Napi::Env env = Env();
    for (int i = 0; i < kMaxFramesPerWakeup && fd_ >= 0; i++) {
      sockaddr_ll from{};
      socklen_t from_length = sizeof from;
      // MSG_TRUNC: the return value is the frame's real length even when it did not fit.
      ssize_t n = recvfrom(fd_, buffer_, sizeof buffer_, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from),
                           &from_length);
      if (n < 0) {
        if (errno == EINTR) continue;
        // ENETDOWN and the like are reported once by the kernel, then reception resumes by itself
        // when the interface comes back: tell the owner, keep the socket.
        if (errno != EAGAIN && errno != EWOULDBLOCK) ReportError("recvfrom", errno);
        return;
      }
      // The filters already refuse these; checked again for sockets opened without one. Without
      // this, a socket bound to ETH_P_ARP gets requests from other VLANs with the tag removed,
      // indistinguishable from our own VLAN's but for the OTHERHOST mark.
      if (from.sll_pkttype == PACKET_OUTGOING || from.sll_pkttype == PACKET_OTHERHOST) continue;
      if (static_cast<size_t>(n) > kMaxFrame) {
        dropped_++;
        continue;
      }
      received_++;
      Call(on_frame_, Napi::Buffer<uint8_t>::Copy(env, buffer_, static_cast<size_t>(n)));
    }
  }

  void ReportError(const char* syscall, int err) {
    errors_++;
    Call(on_error_, SystemError(Env(), syscall, err).Value());
  }

  // Runs a JS callback from the event loop. A throw there is the program's uncaught exception,
  // as for any Node callback, rather than something left pending for whoever calls N-API next.
  void Call(const Napi::FunctionReference& callback, napi_value argument) {
    if (callback.IsEmpty()) return;
    callback.Call(Value(), {argument});
    Napi::Env env = Env();
    if (env.IsExceptionPending()) {
      napi_fatal_exception(env, env.GetAndClearPendingException().Value());
    }
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env) || !CheckBuffer(info, 0)) return env.Undefined();
    auto frame = info[0].As<Napi::Buffer<uint8_t>>();
    ssize_t n;
    do {
      n = send(fd_, frame.Data(), frame.Length(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      SystemError(env, "send", errno).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sent_++;
    return env.Undefined();
  }

  Napi::Value AddMulticast(const Napi::CallbackInfo& info) {
    return Membership(info, PACKET_ADD_MEMBERSHIP, "setsockopt(PACKET_ADD_MEMBERSHIP)");
  }

  Napi::Value DropMulticast(const Napi::CallbackInfo& info) {
    return Membership(info, PACKET_DROP_MEMBERSHIP, "setsockopt(PACKET_DROP_MEMBERSHIP)");
  }

  // The NIC's multicast filter must pass a group's MAC or its frames never reach any socket. The
  // kernel counts memberships per socket (add twice, drop twice) and removes them on close.
  Napi::Value Membership(const Napi::CallbackInfo& info, int option, const char* syscall) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env) || !CheckBuffer(info, ETH_ALEN)) return env.Undefined();
    auto mac = info[0].As<Napi::Buffer<uint8_t>>();
    packet_mreq request{};
    request.mr_ifindex = ifindex_;
    request.mr_type = PACKET_MR_MULTICAST;
    request.mr_alen = ETH_ALEN;
    memcpy(request.mr_address, mac.Data(), ETH_ALEN);
    if (setsockopt(fd_, SOL_PACKET, option, &request, sizeof request) < 0) {
      SystemError(env, syscall, errno).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    on_frame_.Reset();
    on_error_.Reset();
    if (referenced_) {
      referenced_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    CollectKernelDrops();
    Napi::Object counters = Napi::Object::New(info.Env());
    counters.Set("received", received_);
    counters.Set("sent", sent_);
    counters.Set("dropped", dropped_);
    counters.Set("errors", errors_);
    return counters;
  }

  // Frames the kernel discarded because our receive queue was full. Reading the statistics
  // resets them, so they are accumulated here.
  void CollectKernelDrops() {
    if (fd_ < 0) return;
    tpacket_stats stats{};
    socklen_t length = sizeof stats;
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0) dropped_ += stats.tp_drops;
  }

  // Stops polling and closes the descriptor; safe to repeat, and run again by the destructor.
  void Shutdown() {
    if (fd_ < 0) return;
    CollectKernelDrops();
    // Closing the handle stops polling; only then may the descriptor go (libuv's uv_poll rule).
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), fd_poll::Free);
    poll_ = nullptr;
    close(fd_);
    fd_ = -1;
  }

  bool CheckOpen(Napi::Env env) {
    if (fd_ >= 0) return true;
    Napi::Error error = Napi::Error::New(env, "the packet socket is closed");
    error.Set("code", Napi::String::New(env, "EBADF"));
    error.ThrowAsJavaScriptException();
    return false;
  }

  // A Buffer argument, of exactly `length` bytes unless length is 0.
  static bool CheckBuffer(const Napi::CallbackInfo& info, size_t length) {
    if (info.Length() >= 1 && info[0].IsBuffer() &&
        (length == 0 || info[0].As<Napi::Buffer<uint8_t>>().Length() == length)) {
      return true;
    }
    Napi::TypeError::New(info.Env(), length == 0 ? "expected a Buffer" : "expected a 6-byte MAC Buffer")
        .ThrowAsJavaScriptException();
    return false;
  }

  int fd_ = -1;
  int ifindex_ = 0;
  uv_poll_t* poll_ = nullptr;
  bool referenced_ = false;
  Napi::FunctionReference on_frame_;
  Napi::FunctionReference on_error_;
  Napi::AsyncContext async_context_;
  // Doubles: JS numbers, exact far beyond any count a socket will reach.
  double received_ = 0;
  double sent_ = 0;
  double dropped_ = 0;
  double errors_ = 0;
  uint8_t buffer_[kMaxFrame];
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketSocket", PacketSocket::Define(env));
  InitTcpSocket(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(packet_socket, Init)
