/*
 * The probe engine's insides, shared by its C files. One engine is one
 * thread running an epoll loop (loop.c); the JavaScript thread (addon.c)
 * hands it jobs through a locked queue and an eventfd, and takes finished
 * results from a locked outbox, woken by a thread-safe function.
 *
 * Everything named loop_* or in struct loop is touched by the engine's
 * thread only; struct engine's shared part is guarded by engine->lock.
 */
#ifndef PROBE_ENGINE_H
#define PROBE_ENGINE_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* Error codes handed to JavaScript, Node.js-style. 0 is "no error". */
enum pe_error {
  PE_OK = 0,
  PE_ETIMEDOUT,
  PE_ECONNREFUSED,
  PE_ECONNRESET,
  PE_EHOSTUNREACH,
  PE_ENETUNREACH,
  PE_EADDRNOTAVAIL,
  PE_EACCES,
  PE_EPERM,
  PE_EMFILE,
  PE_ENOBUFS,
  PE_EPIPE,
  PE_EIO,
  PE_HPE_INVALID,
  PE_HPE_HEADER_OVERFLOW,
  PE_DEPTH_ZERO_SELF_SIGNED_CERT,
  PE_SELF_SIGNED_CERT_IN_CHAIN,
  PE_UNABLE_TO_VERIFY_LEAF_SIGNATURE,
  PE_UNABLE_TO_GET_ISSUER_CERT,
  PE_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
  PE_CERT_HAS_EXPIRED,
  PE_CERT_NOT_YET_VALID,
  PE_CERT_UNTRUSTED,
  PE_CERT_SIGNATURE_FAILURE,
  PE_CERT_REVOKED,
  PE_INVALID_CA,
  PE_ERR_TLS_CERT_ALTNAME_INVALID,
  PE_ERR_SSL_WRONG_VERSION_NUMBER,
  PE_EPROTO,
  PE_ERROR_COUNT
};

const char *pe_error_name(uint16_t code);
uint16_t pe_error_from_errno(int err);

/* An address of either family, as the kernel takes it. */
typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} pe_addr;

/*
 * An HTTP target as defineHttpTarget() made it: immutable once made, shared
 * by the JavaScript thread's table and every job in flight for it, freed by
 * the last release.
 */
struct http_target {
  atomic_uint refs;
  pe_addr addr;
  socklen_t addr_len;
  uint8_t *request;
  uint32_t request_len;
  uint32_t max_body;
  SSL_CTX *tls;          /* NULL: plain HTTP */
  char *server_name;     /* SNI and the name checked; NULL for plain HTTP */
  bool server_name_is_ip;
  /* The last TLS session to resume (the engine's thread only, until the last release). */
  SSL_SESSION *session;
};

void http_target_release(struct http_target *target);

enum job_kind { JOB_ICMP = 1, JOB_HTTP = 2 };

/* One job as submitted by the JavaScript thread. */
struct submission {
  uint32_t id;
  uint8_t kind;
  uint64_t deadline_us;
  pe_addr addr;                 /* ICMP */
  struct http_target *target;   /* HTTP: one reference, handed to the loop */
};

/* One finished job, as handed back. */
struct result {
  uint32_t id;
  int32_t outcome;
  uint32_t latency_us;
  uint16_t error;
  uint32_t body_start;
  uint32_t body_length;
};

/* A growable batch of results and the bytes of their bodies. */
struct batch {
  struct result *results;
  size_t count, cap;
  uint8_t *bytes;
  size_t bytes_len, bytes_cap;
};

bool batch_push(struct batch *b, const struct result *r, const uint8_t *body, size_t body_len);
void batch_free(struct batch *b);

enum icmp_mode { ICMP_NONE = 0, ICMP_RAW, ICMP_DGRAM };

struct engine;

/*
 * A queue of jobs as (slot, generation) pairs: a job that ended while
 * queued (its deadline passed) is skipped when its turn comes, even if its
 * slot already holds another job.
 */
struct fifo {
  uint64_t *items;
  uint32_t head, len, cap;
};

struct loop;
bool fifo_push(struct fifo *q, uint32_t slot, uint32_t gen);
/* The next live entry whose job is in `state`, or NO_SLOT. */
uint32_t fifo_pop_live(struct fifo *q, struct loop *loop, uint8_t state);
uint32_t fifo_peek_live(struct fifo *q, struct loop *loop, uint8_t state);
void fifo_free(struct fifo *q);

/* The thread's own state. */
struct job;
struct conn;
struct loop {
  int epfd;
  /* ICMP: one socket per family (index 0: IPv4, 1: IPv6). */
  int icmp_fd[2];
  enum icmp_mode icmp_mode[2];
  uint16_t icmp_ident;
  uint64_t icmp_nonce;
  bool icmp_blocked[2];      /* the socket said EAGAIN: wait for EPOLLOUT */
  bool icmp_nobufs;          /* ENOBUFS: retry after a millisecond */
  /* Jobs: a slot array that only grows, with a free list. */
  struct job *jobs;
  uint32_t jobs_cap, free_head;
  /* Deadlines: a min-heap of slot numbers. */
  uint32_t *heap;
  uint32_t heap_len;
  /* ICMP echo requests waiting to be sent, per family, and HTTP jobs waiting for a connection. */
  struct fifo icmp_queue[2];
  struct fifo http_wait;
  uint32_t open_conns, max_conns;
  bool fd_exhausted;         /* socket() said EMFILE: wait for a close */
  struct conn *free_conns;
  /* Taken from the shared queue, and results of this round. */
  struct submission *taken;
  size_t taken_cap;
  struct batch out;
  /* When the results in `out` go to JavaScript even if jobs are still unanswered (see deliver()). */
  uint64_t next_delivery_us;
  /* Jobs taken and not answered yet. */
  uint32_t unanswered;
};

struct engine {
  pthread_t thread;
  bool thread_started;
  int eventfd;
  pthread_mutex_t lock;
  /* Shared, under lock. */
  struct submission *queue;
  size_t queue_len, queue_cap;
  struct batch outbox;
  bool outbox_posted;         /* a call of the thread-safe function is on its way */
  bool stopping;
  /* Counters for stats(). */
  atomic_ullong finished;
  atomic_ullong echo_sent;
  /* Delivery to JavaScript (addon.c sets these). */
  void (*post)(struct engine *engine);
  void *post_context;
  struct loop loop;
};

/* loop.c */
int engine_start(struct engine *engine, uint32_t max_conns, char *reason, size_t reason_len);
void engine_stop(struct engine *engine);
/* Queues `count` jobs; `wake` false leaves them for the next submission's (or engine_wake's) wake-up. */
bool engine_submit(struct engine *engine, const struct submission *jobs, size_t count, bool wake);
/* Wakes the thread to take what is queued. */
void engine_wake(struct engine *engine);
uint64_t pe_now_us(void);

/* Shared between loop.c, icmp.c and http.c. */
enum job_state {
  JS_FREE = 0,
  JS_ICMP_QUEUED,    /* waiting in icmp_queue to be sent */
  JS_ICMP_SENT,      /* waiting for the echo reply */
  JS_HTTP_WAITING,   /* waiting for a connection slot */
  JS_HTTP_CONNECTING,
  JS_HTTP_HANDSHAKE,
  JS_HTTP_SENDING,
  JS_HTTP_HEADERS,
  JS_HTTP_BODY,
  JS_HTTP_DRAIN      /* answered; reading the server's close before ours */
};

struct job {
  uint32_t id;
  uint32_t gen;
  uint8_t kind;
  uint8_t state;
  uint8_t family;      /* 0: IPv4, 1: IPv6 */
  uint32_t heap_pos;   /* UINT32_MAX: not in the heap */
  uint32_t next;       /* free list */
  uint64_t deadline_us;
  uint64_t start_us;
  pe_addr addr;        /* ICMP */
  struct http_target *target;
  struct conn *conn;
};

#define NO_SLOT UINT32_MAX

/* Per connection, pooled: the socket, TLS state and the read buffer. */
struct conn {
  struct conn *next_free;
  int fd;
  SSL *ssl;
  uint8_t *buf;
  uint32_t cap, len;
  uint32_t sent;
  uint32_t header_end;      /* bytes of status line and headers (0: not yet) */
  int32_t status;
  uint32_t latency_us;
  uint32_t body_want;       /* bytes of body to keep */
  uint32_t drained;
  bool chunked;
  bool eof;
};

void loop_finish(struct loop *loop, uint32_t slot, int32_t outcome, uint32_t latency_us, uint16_t error,
                 const uint8_t *body, size_t body_len);
void loop_free_slot(struct loop *loop, uint32_t slot);
void loop_set_deadline(struct loop *loop, uint32_t slot, uint64_t deadline_us);
uint64_t loop_epoll_tag(struct loop *loop, uint32_t slot);

/* icmp.c */
void icmp_open(struct loop *loop, char *reason, size_t reason_len);
void icmp_close(struct loop *loop);
void icmp_enqueue(struct loop *loop, uint32_t slot);
void icmp_flush(struct loop *loop, uint64_t now);
void icmp_receive(struct loop *loop, int family);
bool icmp_pending(const struct loop *loop);

/* http.c */
void http_start_waiting(struct loop *loop, uint64_t now);
void http_event(struct loop *loop, uint32_t slot, uint32_t events);
void http_expire(struct loop *loop, uint32_t slot);
void http_abandon(struct loop *loop, uint32_t slot);
void http_free_pool(struct loop *loop);

/* tls.c */
SSL_CTX *tls_context_new(bool verify, const char *ca_pem, size_t ca_pem_len, char *why, size_t why_len);
uint16_t tls_handshake_error(SSL *ssl, int ssl_error, int saved_errno);
/* After a finished handshake: PE_OK, or why the peer is not to be trusted (verify contexts only). */
uint16_t tls_verify_failure(SSL *ssl);

#define EPOLL_TAG_EVENTFD (UINT64_MAX - 1)
#define EPOLL_TAG_ICMP4 (UINT64_MAX - 2)
#define EPOLL_TAG_ICMP6 (UINT64_MAX - 3)

#endif
