/*
 * ICMP echo over one socket per family for every target. As root (or with
 * CAP_NET_RAW) a raw socket whose kernel filter lets only echo replies and
 * destination-unreachable errors through; else an unprivileged ping socket
 * (SOCK_DGRAM, allowed by net.ipv4.ping_group_range); else none.
 *
 * A raw socket sees every echo reply that reaches the host, for any program,
 * so a reply is ours only when it carries our identifier and, in its
 * payload, this engine's random nonce and the slot and generation of a job
 * still waiting: other engines, processes and ping programs cannot be taken
 * for us, nor can a late reply for a job whose slot was reused.
 */
#include "engine.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_PAYLOAD 16  /* nonce (8), slot (4), generation (4) */
#define ECHO_LEN (8 + ECHO_PAYLOAD)
#define SEND_BATCH 64
#define SENDS_PER_ROUND 1024  /* then read replies before sending more */
#define RECV_BATCH 64
#define RECV_SIZE 512

struct echo_payload {
  uint64_t nonce;
  uint32_t slot;
  uint32_t gen;
};

static uint16_t checksum(const uint8_t *data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)data[i] << 8 | data[i + 1];
  if (len & 1) sum += (uint32_t)data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    default: return "error";
  }
}

static void set_buffer(int fd, int force, int plain, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) != 0) {
    setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);
  }
}

static int open_family(struct loop *loop, int family, char *why, size_t why_len) {
  int domain = family ? AF_INET6 : AF_INET;
  int proto = family ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  int fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  int raw_err = errno;
  if (fd >= 0) {
    int ok;
    if (family) {
      struct icmp6_filter filter;
      ICMP6_FILTER_SETBLOCKALL(&filter);
      ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
      ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
      ok = setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
    } else {
      /* Bits set are types dropped: only echo replies and unreachables reach us (not our own requests on loopback). */
      struct icmp_filter filter = { .data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH)) };
      ok = setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
    }
    if (ok != 0) {
      close(fd);
      fd = -1;
      raw_err = errno;
    } else {
      loop->icmp_mode[family] = ICMP_RAW;
    }
  }
  int dgram_err = 0;
  if (fd < 0) {
    fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    dgram_err = errno;
    if (fd >= 0) loop->icmp_mode[family] = ICMP_DGRAM;
  }
  if (fd < 0) {
    loop->icmp_mode[family] = ICMP_NONE;
    snprintf(why, why_len, "%s: raw socket %s (needs CAP_NET_RAW), ping socket %s (net.ipv4.ping_group_range excludes group %u)",
             family ? "IPv6" : "IPv4", errno_name(raw_err), errno_name(dgram_err), (unsigned)getgid());
    return -1;
  }
  /* Ten thousand replies can arrive within a millisecond on loopback. */
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, 8 << 20);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, 2 << 20);
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u64 = family ? EPOLL_TAG_ICMP6 : EPOLL_TAG_ICMP4 };
  epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
  return fd;
}

/*
 * A raw socket is handed every echo reply that reaches the host. With
 * several engines (workers) pinging at once each would wake for all their
 * replies; this kernel filter drops echo replies that do not carry our
 * identifier before they are queued. Other types (unreachables) pass: the
 * payload check in match() still applies to everything.
 */
static void attach_ident_filter(int fd, int family, uint16_t ident) {
  struct sock_filter v4[] = {
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),            /* X = IP header length */
    BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),             /* A = ICMP type */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ICMP_ECHOREPLY, 0, 2),
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4),             /* A = identifier */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ident, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_filter v6[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),             /* ICMPv6 type: no IP header on raw IPv6 sockets */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ICMP6_ECHO_REPLY, 0, 2),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ident, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog program = family ? (struct sock_fprog){ .len = sizeof v6 / sizeof v6[0], .filter = v6 }
                                     : (struct sock_fprog){ .len = sizeof v4 / sizeof v4[0], .filter = v4 };
  /* Without it (no BPF), match() alone sorts replies out: only slower. */
  setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program);
}

void icmp_open(struct loop *loop, char *reason, size_t reason_len) {
  uint16_t ident;
  if (getrandom(&loop->icmp_nonce, sizeof loop->icmp_nonce, 0) != sizeof loop->icmp_nonce ||
      getrandom(&ident, sizeof ident, 0) != sizeof ident) {
    loop->icmp_nonce = pe_now_us() ^ ((uint64_t)getpid() << 40);
    ident = (uint16_t)(getpid() ^ loop->icmp_nonce);
  }
  loop->icmp_ident = ident;
  char why[2][200] = { "", "" };
  loop->icmp_fd[0] = open_family(loop, 0, why[0], sizeof why[0]);
  loop->icmp_fd[1] = open_family(loop, 1, why[1], sizeof why[1]);
  for (int family = 0; family < 2; family++) {
    if (loop->icmp_mode[family] == ICMP_RAW) attach_ident_filter(loop->icmp_fd[family], family, ident);
  }
  if (reason_len > 0) {
    snprintf(reason, reason_len, "%s%s%s", why[0], why[0][0] && why[1][0] ? "; " : "", why[1]);
  }
}

void icmp_close(struct loop *loop) {
  for (int family = 0; family < 2; family++) {
    if (loop->icmp_fd[family] >= 0) close(loop->icmp_fd[family]);
    loop->icmp_fd[family] = -1;
  }
}

void icmp_enqueue(struct loop *loop, uint32_t slot) {
  struct job *job = &loop->jobs[slot];
  if (loop->icmp_fd[job->family] < 0) {
    loop_finish(loop, slot, 0, 0, PE_EPERM, NULL, 0);
    loop_free_slot(loop, slot);
    return;
  }
  if (!fifo_push(&loop->icmp_queue[job->family], slot, job->gen)) {
    loop_finish(loop, slot, 0, 0, PE_ENOBUFS, NULL, 0);
    loop_free_slot(loop, slot);
  }
}

bool icmp_pending(const struct loop *loop) {
  for (int family = 0; family < 2; family++) {
    if (loop->icmp_queue[family].len > 0 && !loop->icmp_blocked[family]) return true;
  }
  return false;
}

static void build_echo(struct loop *loop, int family, uint32_t slot, uint16_t seq, uint8_t *packet) {
  struct echo_payload payload = { .nonce = loop->icmp_nonce, .slot = slot, .gen = loop->jobs[slot].gen };
  uint16_t ident = htons(loop->icmp_ident);
  seq = htons(seq);
  packet[0] = family ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  packet[1] = 0;
  packet[2] = packet[3] = 0;
  memcpy(packet + 4, &ident, 2);
  memcpy(packet + 6, &seq, 2);
  memcpy(packet + 8, &payload, sizeof payload);
  if (!family) {
    /* The kernel sums ICMPv6 itself (it needs the pseudo-header); ICMPv4 is ours. */
    uint16_t sum = checksum(packet, ECHO_LEN);
    memcpy(packet + 2, &sum, 2);
  }
}

static void flush_family(struct loop *loop, int family) {
  struct fifo *q = &loop->icmp_queue[family];
  struct engine *engine = (struct engine *)((char *)loop - offsetof(struct engine, loop));
  uint8_t packets[SEND_BATCH][ECHO_LEN];
  struct iovec iov[SEND_BATCH];
  struct mmsghdr msgs[SEND_BATCH];
  uint32_t slots[SEND_BATCH];
  unsigned sent_round = 0;
  while (!loop->icmp_blocked[family] && sent_round < SENDS_PER_ROUND) {
    /* Gather up to SEND_BATCH live jobs from the head, without taking them off yet. */
    unsigned k = 0;
    uint32_t scanned[SEND_BATCH]; /* queue entries up to and including job i */
    uint32_t index = 0;
    while (k < SEND_BATCH && index < q->len) {
      uint64_t item = q->items[(q->head + index) % q->cap];
      index++;
      uint32_t slot = (uint32_t)item;
      struct job *job = &loop->jobs[slot];
      if (job->gen != (uint32_t)(item >> 32) || job->state != JS_ICMP_QUEUED) continue;
      build_echo(loop, family, slot, (uint16_t)(loop->icmp_ident + slot), packets[k]);
      iov[k] = (struct iovec){ .iov_base = packets[k], .iov_len = ECHO_LEN };
      msgs[k] = (struct mmsghdr){ .msg_hdr = { .msg_name = &job->addr, .msg_namelen = family ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
                                               .msg_iov = &iov[k], .msg_iovlen = 1 } };
      slots[k] = slot;
      scanned[k] = index;
      k++;
    }
    if (k == 0) {
      q->head = (q->head + index) % (q->cap ? q->cap : 1);
      q->len -= index;
      return;
    }
    uint64_t now = pe_now_us();
    int n = sendmmsg(loop->icmp_fd[family], msgs, k, MSG_DONTWAIT);
    int err = n < 0 ? errno : 0;
    unsigned done = n > 0 ? (unsigned)n : 0;
    for (unsigned i = 0; i < done; i++) {
      struct job *job = &loop->jobs[slots[i]];
      job->state = JS_ICMP_SENT;
      job->start_us = now;
    }
    atomic_fetch_add_explicit(&engine->echo_sent, done, memory_order_relaxed);
    sent_round += done;
    uint32_t consumed = done > 0 ? scanned[done - 1] : 0;
    if (n < 0) {
      if (err == EAGAIN || err == EWOULDBLOCK) {
        loop->icmp_blocked[family] = true;
      } else if (err == ENOBUFS) {
        loop->icmp_nobufs = true;
        return;
      } else if (err != EINTR) {
        /* This destination cannot be sent to (no route, …): answer it now, go on with the rest. */
        loop_finish(loop, slots[0], 0, 0, pe_error_from_errno(err), NULL, 0);
        loop_free_slot(loop, slots[0]);
        consumed = scanned[0];
      }
    }
    q->head = (q->head + consumed) % q->cap;
    q->len -= consumed;
  }
}

void icmp_flush(struct loop *loop, uint64_t now) {
  (void)now;
  loop->icmp_nobufs = false;
  for (int family = 0; family < 2; family++) {
    if (loop->icmp_fd[family] >= 0 && loop->icmp_queue[family].len > 0) flush_family(loop, family);
  }
}

/* The job an echo payload names, if it is one of ours still waiting; else NO_SLOT. */
static uint32_t match(struct loop *loop, int family, const uint8_t *icmp, size_t len, bool check_ident) {
  if (len < ECHO_LEN) return NO_SLOT;
  if (check_ident) {
    uint16_t ident;
    memcpy(&ident, icmp + 4, 2);
    if (ntohs(ident) != loop->icmp_ident) return NO_SLOT;
  }
  struct echo_payload payload;
  memcpy(&payload, icmp + 8, sizeof payload);
  if (payload.nonce != loop->icmp_nonce || payload.slot >= loop->jobs_cap) return NO_SLOT;
  struct job *job = &loop->jobs[payload.slot];
  if (job->gen != payload.gen || job->kind != JOB_ICMP || job->state != JS_ICMP_SENT || job->family != family) return NO_SLOT;
  return payload.slot;
}

static void on_packet(struct loop *loop, int family, const uint8_t *data, size_t len, uint64_t now) {
  bool raw = loop->icmp_mode[family] == ICMP_RAW;
  const uint8_t *icmp = data;
  if (!family && raw) {
    /* A raw IPv4 socket hands over the IP header too. */
    if (len < 20) return;
    size_t ihl = (size_t)(data[0] & 0x0f) * 4;
    if (ihl < 20 || len < ihl) return;
    icmp = data + ihl;
    len -= ihl;
  }
  if (len < 8) return;
  uint8_t type = icmp[0], code = icmp[1];
  uint8_t reply = family ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
  uint8_t unreach = family ? ICMP6_DST_UNREACH : ICMP_DEST_UNREACH;
  if (type == reply) {
    uint32_t slot = match(loop, family, icmp, len, raw);
    if (slot == NO_SLOT) return;
    uint64_t start = loop->jobs[slot].start_us;
    uint64_t latency = now > start ? now - start : 0;
    loop_finish(loop, slot, 1, latency > UINT32_MAX ? UINT32_MAX : (uint32_t)latency, PE_OK, NULL, 0);
    loop_free_slot(loop, slot);
  } else if (type == unreach && raw) {
    /* The error quotes our request: its IP header, then our ICMP header and payload. */
    const uint8_t *inner = icmp + 8;
    size_t inner_len = len - 8;
    size_t header = 40;
    if (!family) {
      if (inner_len < 20) return;
      header = (size_t)(inner[0] & 0x0f) * 4;
    }
    if (inner_len < header + ECHO_LEN) return;
    const uint8_t *request = inner + header;
    if (request[0] != (family ? ICMP6_ECHO_REQUEST : ICMP_ECHO)) return;
    uint32_t slot = match(loop, family, request, inner_len - header, true);
    if (slot == NO_SLOT) return;
    bool network = family ? code == ICMP6_DST_UNREACH_NOROUTE : (code == ICMP_NET_UNREACH || code == ICMP_NET_UNKNOWN);
    loop_finish(loop, slot, 0, 0, network ? PE_ENETUNREACH : PE_EHOSTUNREACH, NULL, 0);
    loop_free_slot(loop, slot);
  }
}

void icmp_receive(struct loop *loop, int family) {
  int fd = loop->icmp_fd[family];
  if (fd < 0) return;
  static __thread uint8_t buffers[RECV_BATCH][RECV_SIZE];
  struct iovec iov[RECV_BATCH];
  struct mmsghdr msgs[RECV_BATCH];
  int errors = 0;
  for (;;) {
    for (int i = 0; i < RECV_BATCH; i++) {
      iov[i] = (struct iovec){ .iov_base = buffers[i], .iov_len = RECV_SIZE };
      msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
    }
    int n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return; /* all read (the socket is edge-triggered) */
      /* A socket error (an ICMP error on a ping socket) is reported once: read on past it. */
      if (++errors > 16) return;
      continue;
    }
    uint64_t now = pe_now_us();
    for (int i = 0; i < n; i++) on_packet(loop, family, buffers[i], msgs[i].msg_len, now);
    if (n < RECV_BATCH) {
      /* Likely empty now, but an edge-triggered socket must be read to EAGAIN: one more try is cheap. */
      continue;
    }
  }
}
