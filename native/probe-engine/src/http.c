/*
 * HTTP/1.x exchanges, plain or over TLS: a non-blocking connect, the
 * target's prepared request, the status line and headers (latency: start of
 * connect to the end of the headers), then the body if one was asked for.
 *
 * Sockets are edge-triggered with both directions registered once, so a
 * connection costs no epoll_ctl beyond its ADD. After the answer the server
 * is given a moment to close first (the request says Connection: close), so
 * the TIME_WAIT of ten thousand exchanges every few seconds lands on the
 * server, not on our ephemeral ports; a server that does not close in time
 * gets a reset (SO_LINGER 0), which leaves no TIME_WAIT anywhere.
 *
 * Bodies with Transfer-Encoding: chunked are handed back raw (chunk sizes
 * included), up to maxBody bytes.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define HEADER_MAX 16384
#define HEADER_START 2048     /* most answers' headers fit; the buffer grows to HEADER_MAX when not */
#define POOL_BUFFER_MAX 65536 /* larger buffers (big maxBody) are not kept for the next connection */
#define DRAIN_US 1000000      /* how long the server gets to close first */
#define DRAIN_MAX (64 * 1024) /* bytes read and dropped while waiting for it */

static struct conn *conn_get(struct loop *loop, uint32_t need) {
  struct conn *c = loop->free_conns;
  if (c != NULL) {
    loop->free_conns = c->next_free;
  } else {
    c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
  }
  if (c->cap < need) {
    uint8_t *buf = realloc(c->buf, need);
    if (buf == NULL) {
      c->next_free = loop->free_conns;
      loop->free_conns = c;
      return NULL;
    }
    c->buf = buf;
    c->cap = need;
  }
  c->fd = -1;
  c->ssl = NULL;
  c->len = c->sent = c->header_end = c->latency_us = c->body_want = c->drained = 0;
  c->status = 0;
  c->chunked = c->eof = false;
  return c;
}

void http_free_pool(struct loop *loop) {
  while (loop->free_conns != NULL) {
    struct conn *c = loop->free_conns;
    loop->free_conns = c->next_free;
    free(c->buf);
    free(c);
  }
}

/* Closes the connection of `slot` (with a reset when `reset`) and frees the slot. */
static void conn_end(struct loop *loop, uint32_t slot, bool reset) {
  struct job *job = &loop->jobs[slot];
  struct conn *c = job->conn;
  if (c != NULL) {
    if (c->ssl != NULL) SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0) {
      if (reset) {
        struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
      }
      close(c->fd); /* also takes it out of the epoll set */
      loop->open_conns--;
      loop->fd_exhausted = false;
    }
    c->fd = -1;
    if (c->cap > POOL_BUFFER_MAX) {
      free(c->buf);
      c->buf = NULL;
      c->cap = 0;
    }
    c->next_free = loop->free_conns;
    loop->free_conns = c;
    job->conn = NULL;
  }
  loop_free_slot(loop, slot);
}

static void fail(struct loop *loop, uint32_t slot, uint16_t error) {
  struct http_target *t = loop->jobs[slot].target;
  if (t != NULL && t->session != NULL && loop->jobs[slot].conn != NULL && loop->jobs[slot].conn->ssl != NULL) {
    /* Whatever went wrong, the next attempt starts afresh with a full handshake. */
    SSL_SESSION_free(t->session);
    t->session = NULL;
  }
  loop_finish(loop, slot, 0, 0, error, NULL, 0);
  conn_end(loop, slot, true);
}

void http_expire(struct loop *loop, uint32_t slot) {
  if (loop->jobs[slot].state == JS_HTTP_DRAIN) {
    conn_end(loop, slot, true); /* answered already; the server did not close in time */
  } else {
    fail(loop, slot, PE_ETIMEDOUT);
  }
}

void http_abandon(struct loop *loop, uint32_t slot) {
  conn_end(loop, slot, true);
}

/* Starts the exchange of `slot`; false when out of descriptors (the job stays waiting). */
static bool start(struct loop *loop, uint32_t slot) {
  struct job *job = &loop->jobs[slot];
  struct http_target *t = job->target;
  struct conn *c = conn_get(loop, HEADER_START + t->max_body);
  if (c == NULL) {
    loop_finish(loop, slot, 0, 0, PE_ENOBUFS, NULL, 0);
    loop_free_slot(loop, slot);
    return true;
  }
  int fd = socket(t->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    c->next_free = loop->free_conns;
    loop->free_conns = c;
    if (err == EMFILE || err == ENFILE) return false;
    loop_finish(loop, slot, 0, 0, pe_error_from_errno(err), NULL, 0);
    loop_free_slot(loop, slot);
    return true;
  }
  c->fd = fd;
  job->conn = c;
  loop->open_conns++;
  job->start_us = pe_now_us();
  if (connect(fd, &t->addr.sa, t->addr_len) != 0 && errno != EINPROGRESS) {
    fail(loop, slot, pe_error_from_errno(errno));
    return true;
  }
  if (t->tls != NULL) {
    c->ssl = SSL_new(t->tls);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
      fail(loop, slot, PE_EPROTO);
      return true;
    }
    X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
    if (t->server_name_is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, t->server_name);
    } else {
      SSL_set_tlsext_host_name(c->ssl, t->server_name);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, t->server_name, 0);
    }
    /* Resumption spares the next handshake the certificate checks (and, in TLS 1.2, the key exchange). */
    if (t->session != NULL) SSL_set_session(c->ssl, t->session);
    SSL_set_connect_state(c->ssl);
  }
  job->state = JS_HTTP_CONNECTING;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = loop_epoll_tag(loop, slot) };
  if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    fail(loop, slot, pe_error_from_errno(errno));
  }
  return true;
}

void http_start_waiting(struct loop *loop, uint64_t now) {
  (void)now;
  struct fifo *q = &loop->http_wait;
  while (loop->open_conns < loop->max_conns && !loop->fd_exhausted) {
    uint32_t slot = fifo_pop_live(q, loop, JS_HTTP_WAITING);
    if (slot == NO_SLOT) return;
    if (!start(loop, slot)) {
      if (loop->open_conns == 0) {
        /* Nothing will close to make room: say so rather than wait for the deadline. */
        loop_finish(loop, slot, 0, 0, PE_EMFILE, NULL, 0);
        loop_free_slot(loop, slot);
        continue;
      }
      /* Back to the head of the queue (its entry is still there): the next close makes room. */
      q->head = (q->head + q->cap - 1) % q->cap;
      q->len++;
      loop->fd_exhausted = true;
      return;
    }
  }
}

/* ---- parsing ----------------------------------------------------------- */

static bool is_digit(uint8_t ch) { return ch >= '0' && ch <= '9'; }

/* The status of "HTTP/1.x NNN …", or -1 when the line is not HTTP/1. */
static int parse_status(const uint8_t *p, uint32_t len) {
  if (len < 13 || memcmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]) || p[8] != ' ') return -1;
  if (!is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) || (p[12] != ' ' && p[12] != '\r')) return -1;
  int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  return status >= 100 && status <= 599 ? status : -1;
}

/* Index just past "\r\n\r\n", searching from `from`; 0 when not there yet. */
static uint32_t header_end(const uint8_t *p, uint32_t from, uint32_t len) {
  for (uint32_t i = from; i + 3 < len; i++) {
    if (p[i + 3] != '\n') continue;
    if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r') return i + 4;
  }
  return 0;
}

/* Content-Length (or UINT32_MAX when absent) and whether the body is chunked. */
static uint32_t body_framing(const uint8_t *p, uint32_t end, bool *chunked) {
  uint32_t length = UINT32_MAX;
  *chunked = false;
  uint32_t line = 0;
  while (line < end) {
    const uint8_t *eol = memchr(p + line, '\n', end - line);
    uint32_t next = eol ? (uint32_t)(eol - p) + 1 : end;
    const char *s = (const char *)p + line;
    uint32_t n = next - line;
    if (n > 15 && strncasecmp(s, "content-length:", 15) == 0) {
      uint64_t value = 0;
      uint32_t i = 15;
      while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
      while (i < n && is_digit((uint8_t)s[i]) && value < UINT32_MAX) value = value * 10 + (uint64_t)(s[i++] - '0');
      length = value >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)value;
    } else if (n > 18 && strncasecmp(s, "transfer-encoding:", 18) == 0) {
      for (uint32_t i = 18; i + 7 <= n; i++) {
        if (strncasecmp(s + i, "chunked", 7) == 0) *chunked = true;
      }
    }
    line = next;
  }
  return length;
}

/* ---- the exchange ------------------------------------------------------ */

/* Keeps the connection's session (by now TLS 1.3's ticket has come, before the answer) for the target's next exchange. */
static void keep_session(struct http_target *t, SSL *ssl) {
  SSL_SESSION *session = SSL_get1_session(ssl);
  if (session == NULL) return;
  /* A TLS 1.3 session is worth keeping only once its ticket came (a random legacy id makes it look resumable before). */
  bool usable = SSL_SESSION_is_resumable(session) &&
                (SSL_SESSION_get_protocol_version(session) != TLS1_3_VERSION || SSL_SESSION_has_ticket(session));
  if (session == t->session || !usable) {
    SSL_SESSION_free(session);
    return;
  }
  if (t->session != NULL) SSL_SESSION_free(t->session);
  t->session = session;
}

/* The job is answered: close now if the server already did, else give it a moment to close first. */
static void answered(struct loop *loop, uint32_t slot, const uint8_t *body, uint32_t body_len) {
  struct job *job = &loop->jobs[slot];
  struct conn *c = job->conn;
  loop_finish(loop, slot, c->status, c->latency_us, PE_OK, body, body_len);
  if (c->ssl != NULL) {
    keep_session(job->target, c->ssl);
    /*
     * Done with TLS: mark it shut down without a word on the wire, or
     * SSL_free() would take the connection for a broken one and make the
     * kept session unresumable. What the server still sends is drained raw.
     */
    SSL_set_quiet_shutdown(c->ssl, 1);
    SSL_shutdown(c->ssl);
  }
  if (c->eof) {
    conn_end(loop, slot, false);
    return;
  }
  job->state = JS_HTTP_DRAIN;
  uint64_t drain_until = pe_now_us() + DRAIN_US;
  if (drain_until < job->deadline_us) loop_set_deadline(loop, slot, drain_until);
}

/* A full buffer gets room for the rest of the headers, or of the body kept. */
static bool grow_buffer(struct conn *c, const struct job *job) {
  uint32_t need = job->state == JS_HTTP_HEADERS ? HEADER_MAX + job->target->max_body : c->header_end + c->body_want;
  if (need <= c->cap) return true;
  uint8_t *buf = realloc(c->buf, need);
  if (buf == NULL) return false;
  c->buf = buf;
  c->cap = need;
  return true;
}

/* Body bytes read so far are enough (or the connection ended): answer. */
static bool body_complete(const struct conn *c) {
  uint32_t have = c->len - c->header_end;
  if (c->eof || have >= c->body_want) return true;
  if (c->chunked) {
    const uint8_t *p = c->buf + c->header_end;
    if (have >= 5 && memcmp(p + have - 5, "0\r\n\r\n", 5) == 0 && (have == 5 || p[have - 6] == '\n')) return true;
  }
  return false;
}

static void answer_with_body(struct loop *loop, uint32_t slot) {
  struct conn *c = loop->jobs[slot].conn;
  uint32_t have = c->len - c->header_end;
  answered(loop, slot, c->buf + c->header_end, have < c->body_want ? have : c->body_want);
}

/* Parses what arrived while reading headers. Returns false when the job ended. */
static bool on_header_bytes(struct loop *loop, uint32_t slot, uint32_t before) {
  struct job *job = &loop->jobs[slot];
  struct conn *c = job->conn;
  for (;;) {
    uint32_t prefix = c->len < 5 ? c->len : 5;
    if (memcmp(c->buf, "HTTP/", prefix) != 0) {
      fail(loop, slot, PE_HPE_INVALID);
      return false;
    }
    uint32_t end = header_end(c->buf, before > 3 ? before - 3 : 0, c->len);
    if (end == 0) {
      if (c->len >= HEADER_MAX) {
        fail(loop, slot, PE_HPE_HEADER_OVERFLOW);
        return false;
      }
      return true;
    }
    int status = parse_status(c->buf, end);
    if (status < 0) {
      fail(loop, slot, PE_HPE_INVALID);
      return false;
    }
    if (status < 200 && status != 101) {
      /* 100 Continue and friends: the real answer follows. */
      memmove(c->buf, c->buf + end, c->len - end);
      c->len -= end;
      before = 0;
      if (c->len == 0) return true;
      continue;
    }
    uint64_t latency = pe_now_us() - job->start_us;
    c->status = status;
    c->latency_us = latency > UINT32_MAX ? UINT32_MAX : (uint32_t)latency;
    c->header_end = end;
    uint32_t max_body = job->target->max_body;
    if (max_body == 0 || status == 204 || status == 304 || status == 101) {
      c->drained = c->len - end;
      answered(loop, slot, NULL, 0);
      return job->conn != NULL;
    }
    uint32_t length = body_framing(c->buf, end, &c->chunked);
    c->body_want = length < max_body ? length : max_body;
    job->state = JS_HTTP_BODY;
    if (body_complete(c)) {
      answer_with_body(loop, slot);
      return job->conn != NULL;
    }
    return true;
  }
}

/* One read: >0 bytes, 0 at the end of the stream, -1 for "wait", -2 with *err on error. */
static int conn_read(struct conn *c, uint8_t *into, uint32_t room, int *err) {
  if (c->ssl == NULL) {
    ssize_t n = recv(c->fd, into, room, 0);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    if (errno == EINTR) return -1;
    *err = errno;
    return -2;
  }
  ERR_clear_error();
  int n = SSL_read(c->ssl, into, (int)room);
  if (n > 0) return n;
  int e = SSL_get_error(c->ssl, n);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -1;
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  if (e == SSL_ERROR_SYSCALL) {
    if (errno == 0) return 0;
    *err = errno;
    return -2;
  }
  *err = ECONNRESET;
  return -2;
}

/*
 * Reads what the socket holds. Plain TCP skips the read that would only say
 * EAGAIN: a read shorter than the room given emptied the socket, and on an
 * edge-triggered socket anything arriving later brings a new event. When
 * the event already said the peer closed (EPOLLRDHUP), such a read also
 * took the last bytes before the end: the end is taken as read too.
 */
static void read_answer(struct loop *loop, uint32_t slot, uint32_t events) {
  static __thread uint8_t scratch[16384];
  struct job *job = &loop->jobs[slot];
  bool peer_closed = events & (EPOLLRDHUP | EPOLLHUP);
  bool emptied = false;
  for (;;) {
    struct conn *c = job->conn;
    if (c == NULL) return;
    int err = 0;
    if (emptied && !peer_closed) return;
    if (job->state == JS_HTTP_DRAIN) {
      ssize_t n = emptied ? 0 : recv(c->fd, scratch, sizeof scratch, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      if (n <= 0) {
        conn_end(loop, slot, n < 0); /* the server closed first: no TIME_WAIT on our side */
        return;
      }
      c->drained += (uint32_t)n;
      emptied = (size_t)n < sizeof scratch;
      if (c->drained > DRAIN_MAX) {
        conn_end(loop, slot, true);
        return;
      }
      continue;
    }
    uint32_t before = c->len;
    if (c->len == c->cap && !grow_buffer(c, job)) {
      fail(loop, slot, PE_ENOBUFS);
      return;
    }
    uint32_t room = c->cap - c->len;
    int n = emptied ? 0 : conn_read(c, c->buf + c->len, room, &err);
    if (n == -1) return;
    if (n == -2) {
      fail(loop, slot, err == EPIPE ? PE_ECONNRESET : pe_error_from_errno(err));
      return;
    }
    if (n == 0) {
      c->eof = true;
      if (job->state == JS_HTTP_HEADERS) {
        fail(loop, slot, c->len > 0 && memcmp(c->buf, "HTTP/", c->len < 5 ? c->len : 5) != 0 ? PE_HPE_INVALID : PE_ECONNRESET);
      } else {
        answer_with_body(loop, slot);
      }
      return;
    }
    c->len += (uint32_t)n;
    emptied = c->ssl == NULL && (uint32_t)n < room;
    if (job->state == JS_HTTP_HEADERS) {
      if (!on_header_bytes(loop, slot, before)) return;
    } else if (body_complete(c)) {
      answer_with_body(loop, slot);
    }
  }
}

static bool send_request(struct loop *loop, uint32_t slot) {
  struct job *job = &loop->jobs[slot];
  struct conn *c = job->conn;
  const struct http_target *t = job->target;
  while (c->sent < t->request_len) {
    const uint8_t *from = t->request + c->sent;
    uint32_t left = t->request_len - c->sent;
    if (c->ssl == NULL) {
      ssize_t n = send(c->fd, from, left, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
        fail(loop, slot, errno == EPIPE ? PE_ECONNRESET : pe_error_from_errno(errno));
        return false;
      }
      c->sent += (uint32_t)n;
    } else {
      ERR_clear_error();
      int n = SSL_write(c->ssl, from, (int)left);
      if (n <= 0) {
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
        fail(loop, slot, e == SSL_ERROR_SYSCALL && errno != 0 && errno != EPIPE ? pe_error_from_errno(errno) : PE_ECONNRESET);
        return false;
      }
      c->sent += (uint32_t)n;
    }
  }
  job->state = JS_HTTP_HEADERS;
  return true;
}

void http_event(struct loop *loop, uint32_t slot, uint32_t events) {
  struct job *job = &loop->jobs[slot];
  struct conn *c = job->conn;
  if (job->state == JS_HTTP_CONNECTING) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      fail(loop, slot, err != 0 ? pe_error_from_errno(err) : PE_ECONNRESET);
      return;
    }
    if (!(events & EPOLLOUT)) return;
    job->state = c->ssl != NULL ? JS_HTTP_HANDSHAKE : JS_HTTP_SENDING;
  }
  if (job->state == JS_HTTP_HANDSHAKE) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(c->ssl);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
      fail(loop, slot, tls_handshake_error(c->ssl, e, errno));
      return;
    }
    uint16_t untrusted = tls_verify_failure(c->ssl);
    if (untrusted != PE_OK) {
      fail(loop, slot, untrusted); /* before any byte of the request */
      return;
    }
    job->state = JS_HTTP_SENDING;
  }
  bool readable = events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  if (job->state == JS_HTTP_SENDING) {
    if (!send_request(loop, slot)) return;
    /* Plain HTTP: the answer comes with a later edge, unless bytes were already there (a server that talks first). */
    if (c->ssl == NULL && !readable) return;
  } else if (c->ssl == NULL && !readable) {
    return; /* only "writable again": nothing to read */
  }
  read_answer(loop, slot, events);
}
