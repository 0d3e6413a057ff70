/*
 * The engine's thread: an epoll loop over the ICMP sockets, the HTTP
 * connections and an eventfd the JavaScript thread writes to when it queued
 * jobs or wants the thread to stop. Deadlines sit in a min-heap whose top
 * gives epoll_wait its timeout, so a job that nobody answers ends at its
 * deadline (to the millisecond epoll_wait counts in), not later.
 */
#include "engine.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define DELIVERY_US 5000

static const char *const ERROR_NAMES[PE_ERROR_COUNT] = {
  [PE_OK] = NULL,
  [PE_ETIMEDOUT] = "ETIMEDOUT",
  [PE_ECONNREFUSED] = "ECONNREFUSED",
  [PE_ECONNRESET] = "ECONNRESET",
  [PE_EHOSTUNREACH] = "EHOSTUNREACH",
  [PE_ENETUNREACH] = "ENETUNREACH",
  [PE_EADDRNOTAVAIL] = "EADDRNOTAVAIL",
  [PE_EACCES] = "EACCES",
  [PE_EPERM] = "EPERM",
  [PE_EMFILE] = "EMFILE",
  [PE_ENOBUFS] = "ENOBUFS",
  [PE_EPIPE] = "EPIPE",
  [PE_EIO] = "EIO",
  [PE_HPE_INVALID] = "HPE_INVALID",
  [PE_HPE_HEADER_OVERFLOW] = "HPE_HEADER_OVERFLOW",
  [PE_DEPTH_ZERO_SELF_SIGNED_CERT] = "DEPTH_ZERO_SELF_SIGNED_CERT",
  [PE_SELF_SIGNED_CERT_IN_CHAIN] = "SELF_SIGNED_CERT_IN_CHAIN",
  [PE_UNABLE_TO_VERIFY_LEAF_SIGNATURE] = "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  [PE_UNABLE_TO_GET_ISSUER_CERT] = "UNABLE_TO_GET_ISSUER_CERT",
  [PE_UNABLE_TO_GET_ISSUER_CERT_LOCALLY] = "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  [PE_CERT_HAS_EXPIRED] = "CERT_HAS_EXPIRED",
  [PE_CERT_NOT_YET_VALID] = "CERT_NOT_YET_VALID",
  [PE_CERT_UNTRUSTED] = "CERT_UNTRUSTED",
  [PE_CERT_SIGNATURE_FAILURE] = "CERT_SIGNATURE_FAILURE",
  [PE_CERT_REVOKED] = "CERT_REVOKED",
  [PE_INVALID_CA] = "INVALID_CA",
  [PE_ERR_TLS_CERT_ALTNAME_INVALID] = "ERR_TLS_CERT_ALTNAME_INVALID",
  [PE_ERR_SSL_WRONG_VERSION_NUMBER] = "ERR_SSL_WRONG_VERSION_NUMBER",
  [PE_EPROTO] = "EPROTO",
};

const char *pe_error_name(uint16_t code) {
  return code < PE_ERROR_COUNT ? ERROR_NAMES[code] : "EIO";
}

uint16_t pe_error_from_errno(int err) {
  switch (err) {
    case ETIMEDOUT: return PE_ETIMEDOUT;
    case ECONNREFUSED: return PE_ECONNREFUSED;
    case ECONNRESET: return PE_ECONNRESET;
    case EHOSTUNREACH: case EHOSTDOWN: return PE_EHOSTUNREACH;
    case ENETUNREACH: case ENETDOWN: return PE_ENETUNREACH;
    case EADDRNOTAVAIL: return PE_EADDRNOTAVAIL;
    case EACCES: return PE_EACCES;
    case EPERM: return PE_EPERM;
    case EMFILE: case ENFILE: return PE_EMFILE;
    case ENOBUFS: return PE_ENOBUFS;
    case EPIPE: return PE_EPIPE;
    case EPROTO: return PE_EPROTO;
    default: return PE_EIO;
  }
}

uint64_t pe_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool grow(void **array, size_t *cap, size_t need, size_t item) {
  if (need <= *cap) return true;
  size_t next = *cap ? *cap : 64;
  while (next < need) next *= 2;
  void *moved = realloc(*array, next * item);
  if (moved == NULL) return false;
  *array = moved;
  *cap = next;
  return true;
}

/* ---- batches ---------------------------------------------------------- */

bool batch_push(struct batch *b, const struct result *r, const uint8_t *body, size_t body_len) {
  if (!grow((void **)&b->results, &b->cap, b->count + 1, sizeof *b->results)) return false;
  if (body_len > 0 && !grow((void **)&b->bytes, &b->bytes_cap, b->bytes_len + body_len, 1)) return false;
  struct result *slot = &b->results[b->count++];
  *slot = *r;
  slot->body_start = (uint32_t)b->bytes_len;
  slot->body_length = (uint32_t)body_len;
  if (body_len > 0) {
    memcpy(b->bytes + b->bytes_len, body, body_len);
    b->bytes_len += body_len;
  }
  return true;
}

void batch_free(struct batch *b) {
  free(b->results);
  free(b->bytes);
  memset(b, 0, sizeof *b);
}

/* Moves every result of `from` to the end of `to`; false when memory ran out (the results stay in `from`). */
static bool batch_append(struct batch *to, struct batch *from) {
  if (!grow((void **)&to->results, &to->cap, to->count + from->count, sizeof *to->results)) return false;
  if (!grow((void **)&to->bytes, &to->bytes_cap, to->bytes_len + from->bytes_len, 1)) return false;
  for (size_t i = 0; i < from->count; i++) {
    struct result r = from->results[i];
    r.body_start += (uint32_t)to->bytes_len;
    to->results[to->count + i] = r;
  }
  if (from->bytes_len > 0) memcpy(to->bytes + to->bytes_len, from->bytes, from->bytes_len);
  to->count += from->count;
  to->bytes_len += from->bytes_len;
  from->count = 0;
  from->bytes_len = 0;
  return true;
}

/* ---- fifo of (slot, generation) ---------------------------------------- */

bool fifo_push(struct fifo *q, uint32_t slot, uint32_t gen) {
  if (q->len == q->cap) {
    uint32_t cap = q->cap ? q->cap * 2 : 256;
    uint64_t *items = malloc((size_t)cap * sizeof *items);
    if (items == NULL) return false;
    for (uint32_t i = 0; i < q->len; i++) items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
  }
  q->items[(q->head + q->len) % q->cap] = (uint64_t)gen << 32 | slot;
  q->len++;
  return true;
}

uint32_t fifo_peek_live(struct fifo *q, struct loop *loop, uint8_t state) {
  while (q->len > 0) {
    uint64_t item = q->items[q->head];
    uint32_t slot = (uint32_t)item;
    const struct job *job = &loop->jobs[slot];
    if (job->gen == (uint32_t)(item >> 32) && job->state == state) return slot;
    q->head = (q->head + 1) % q->cap;
    q->len--;
  }
  return NO_SLOT;
}

uint32_t fifo_pop_live(struct fifo *q, struct loop *loop, uint8_t state) {
  uint32_t slot = fifo_peek_live(q, loop, state);
  if (slot != NO_SLOT) {
    q->head = (q->head + 1) % q->cap;
    q->len--;
  }
  return slot;
}

void fifo_free(struct fifo *q) {
  free(q->items);
  memset(q, 0, sizeof *q);
}

/* ---- deadline heap --------------------------------------------------- */

static inline uint64_t key(const struct loop *loop, uint32_t at) {
  return loop->jobs[loop->heap[at]].deadline_us;
}

static inline void heap_place(struct loop *loop, uint32_t at, uint32_t slot) {
  loop->heap[at] = slot;
  loop->jobs[slot].heap_pos = at;
}

static void heap_up(struct loop *loop, uint32_t at) {
  uint32_t slot = loop->heap[at];
  uint64_t k = loop->jobs[slot].deadline_us;
  while (at > 0) {
    uint32_t parent = (at - 1) / 2;
    if (key(loop, parent) <= k) break;
    heap_place(loop, at, loop->heap[parent]);
    at = parent;
  }
  heap_place(loop, at, slot);
}

static void heap_down(struct loop *loop, uint32_t at) {
  uint32_t slot = loop->heap[at];
  uint64_t k = loop->jobs[slot].deadline_us;
  for (;;) {
    uint32_t child = 2 * at + 1;
    if (child >= loop->heap_len) break;
    if (child + 1 < loop->heap_len && key(loop, child + 1) < key(loop, child)) child++;
    if (key(loop, child) >= k) break;
    heap_place(loop, at, loop->heap[child]);
    at = child;
  }
  heap_place(loop, at, slot);
}

static void heap_remove(struct loop *loop, uint32_t slot) {
  uint32_t at = loop->jobs[slot].heap_pos;
  if (at == UINT32_MAX) return;
  loop->jobs[slot].heap_pos = UINT32_MAX;
  uint32_t last = loop->heap[--loop->heap_len];
  if (at == loop->heap_len) return;
  heap_place(loop, at, last);
  heap_up(loop, at);
  heap_down(loop, loop->jobs[last].heap_pos);
}

void loop_set_deadline(struct loop *loop, uint32_t slot, uint64_t deadline_us) {
  struct job *job = &loop->jobs[slot];
  job->deadline_us = deadline_us;
  if (job->heap_pos == UINT32_MAX) {
    /* The heap has room for every slot: it grows with the slot array. */
    job->heap_pos = loop->heap_len;
    loop->heap[loop->heap_len++] = slot;
  }
  heap_up(loop, job->heap_pos);
  heap_down(loop, job->heap_pos);
}

/* ---- job slots --------------------------------------------------------- */

static uint32_t slot_alloc(struct loop *loop) {
  if (loop->free_head == NO_SLOT) {
    uint32_t old = loop->jobs_cap;
    uint32_t cap = old ? old * 2 : 1024;
    struct job *jobs = realloc(loop->jobs, (size_t)cap * sizeof *jobs);
    if (jobs == NULL) return NO_SLOT;
    loop->jobs = jobs;
    uint32_t *heap = realloc(loop->heap, (size_t)cap * sizeof *heap);
    if (heap == NULL) return NO_SLOT;
    loop->heap = heap;
    memset(jobs + old, 0, (size_t)(cap - old) * sizeof *jobs);
    for (uint32_t i = old; i < cap; i++) {
      jobs[i].next = i + 1 < cap ? i + 1 : NO_SLOT;
      jobs[i].heap_pos = UINT32_MAX;
    }
    loop->jobs_cap = cap;
    loop->free_head = old;
  }
  uint32_t slot = loop->free_head;
  struct job *job = &loop->jobs[slot];
  loop->free_head = job->next;
  job->gen++;
  job->next = NO_SLOT;
  return slot;
}

void loop_free_slot(struct loop *loop, uint32_t slot) {
  struct job *job = &loop->jobs[slot];
  heap_remove(loop, slot);
  if (job->target != NULL) {
    http_target_release(job->target);
    job->target = NULL;
  }
  job->state = JS_FREE;
  job->conn = NULL;
  job->gen++; /* events and queue entries of the old job no longer match */
  job->next = loop->free_head;
  loop->free_head = slot;
}

uint64_t loop_epoll_tag(struct loop *loop, uint32_t slot) {
  return (uint64_t)loop->jobs[slot].gen << 32 | slot;
}

/* The first result of a batch starts the longest it may wait for the others. */
static void result_waits(struct loop *loop) {
  if (loop->out.count == 0) loop->next_delivery_us = pe_now_us() + DELIVERY_US;
}

void loop_finish(struct loop *loop, uint32_t slot, int32_t outcome, uint32_t latency_us, uint16_t error,
                 const uint8_t *body, size_t body_len) {
  struct engine *engine = (struct engine *)((char *)loop - offsetof(struct engine, loop));
  struct result r = { .id = loop->jobs[slot].id, .outcome = outcome, .latency_us = latency_us, .error = error };
  /* Never below zero: a miscount only makes a delivery earlier, never a result later or lost. */
  if (loop->unanswered > 0) loop->unanswered--;
  result_waits(loop);
  if (!batch_push(&loop->out, &r, body, body_len)) {
    /* Out of memory for the body: still answer the job. */
    batch_push(&loop->out, &r, NULL, 0);
  }
  atomic_fetch_add_explicit(&engine->finished, 1, memory_order_relaxed);
}

/* ---- the thread ------------------------------------------------------ */

static void admit(struct loop *loop, const struct submission *s) {
  uint32_t slot = slot_alloc(loop);
  if (slot == NO_SLOT) {
    /* Out of memory: answer at once rather than lose the job. */
    struct result r = { .id = s->id, .error = PE_ENOBUFS };
    result_waits(loop);
    batch_push(&loop->out, &r, NULL, 0);
    if (s->target) http_target_release(s->target);
    return;
  }
  struct job *job = &loop->jobs[slot];
  loop->unanswered++;
  job->id = s->id;
  job->kind = s->kind;
  job->target = s->target;
  job->conn = NULL;
  job->start_us = 0;
  loop_set_deadline(loop, slot, s->deadline_us);
  if (s->kind == JOB_ICMP) {
    job->addr = s->addr;
    job->family = s->addr.sa.sa_family == AF_INET6;
    job->state = JS_ICMP_QUEUED;
    icmp_enqueue(loop, slot);
  } else {
    job->family = s->target->addr.sa.sa_family == AF_INET6;
    job->state = JS_HTTP_WAITING;
    if (!fifo_push(&loop->http_wait, slot, job->gen)) {
      loop_finish(loop, slot, 0, 0, PE_ENOBUFS, NULL, 0);
      loop_free_slot(loop, slot);
    }
  }
}

static void expire(struct loop *loop, uint32_t slot) {
  struct job *job = &loop->jobs[slot];
  if (job->kind == JOB_HTTP && job->conn != NULL) {
    http_expire(loop, slot);
    return;
  }
  loop_finish(loop, slot, 0, 0, PE_ETIMEDOUT, NULL, 0);
  loop_free_slot(loop, slot);
}

static int epoll_timeout(struct loop *loop, uint64_t now) {
  if (icmp_pending(loop)) return loop->icmp_nobufs ? 1 : 0;
  uint64_t deadline = UINT64_MAX;
  if (loop->heap_len > 0) deadline = loop->jobs[loop->heap[0]].deadline_us;
  if (loop->out.count > 0 && loop->next_delivery_us < deadline) deadline = loop->next_delivery_us;
  if (deadline == UINT64_MAX) return -1;
  if (deadline <= now) return 0;
  uint64_t ms = (deadline - now + 999) / 1000; /* never wake before the deadline */
  return ms > 60000 ? 60000 : (int)ms;
}

/*
 * Hands the results gathered so far to the JavaScript thread: at once when
 * every job taken is answered, else when the first of them has waited
 * DELIVERY_US. A tick's checks mostly end within a few milliseconds of each
 * other, so its pings and HTTP exchanges reach JavaScript together, in one
 * wake-up of the main thread (on this project's virtual machine a wake-up
 * costs 50-200 µs of CPU, more than a check: docs/benchmark.md); a busy
 * engine still delivers every DELIVERY_US, not once per epoll_wait.
 * Latencies are measured here, so the wait does not change them.
 */
static void deliver(struct engine *engine, uint64_t now) {
  struct loop *loop = &engine->loop;
  if (loop->out.count == 0) return;
  if (loop->unanswered > 0 && now < loop->next_delivery_us) return;
  bool post = false;
  pthread_mutex_lock(&engine->lock);
  if (batch_append(&engine->outbox, &loop->out) && !engine->outbox_posted) {
    engine->outbox_posted = true;
    post = true;
  }
  pthread_mutex_unlock(&engine->lock);
  if (post) engine->post(engine);
}

static bool take_submissions(struct engine *engine) {
  struct loop *loop = &engine->loop;
  pthread_mutex_lock(&engine->lock);
  bool stopping = engine->stopping;
  struct submission *queue = engine->queue;
  size_t len = engine->queue_len, cap = engine->queue_cap;
  /* Swap buffers: the JavaScript thread fills the one the loop emptied last time. */
  engine->queue = loop->taken;
  engine->queue_cap = loop->taken_cap;
  engine->queue_len = 0;
  loop->taken = queue;
  loop->taken_cap = cap;
  pthread_mutex_unlock(&engine->lock);
  for (size_t i = 0; i < len; i++) {
    if (stopping) {
      if (queue[i].target) http_target_release(queue[i].target);
    } else {
      admit(loop, &queue[i]);
    }
  }
  return !stopping;
}

static void *loop_main(void *arg) {
  struct engine *engine = arg;
  struct loop *loop = &engine->loop;
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(loop->epfd, events, 256, epoll_timeout(loop, pe_now_us()));
    bool woken = false;
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64;
      uint32_t ev = events[i].events;
      if (tag == EPOLL_TAG_EVENTFD) {
        uint64_t count;
        if (read(engine->eventfd, &count, sizeof count) < 0) { /* nothing to clear */ }
        woken = true;
      } else if (tag == EPOLL_TAG_ICMP4 || tag == EPOLL_TAG_ICMP6) {
        int family = tag == EPOLL_TAG_ICMP6;
        if (ev & EPOLLOUT) loop->icmp_blocked[family] = false;
        if (ev & (EPOLLIN | EPOLLERR)) icmp_receive(loop, family);
      } else {
        uint32_t slot = (uint32_t)tag;
        if (slot < loop->jobs_cap && loop->jobs[slot].gen == (uint32_t)(tag >> 32) && loop->jobs[slot].conn != NULL) {
          http_event(loop, slot, ev);
        }
      }
    }
    if (woken && !take_submissions(engine)) break;
    uint64_t now = pe_now_us();
    while (loop->heap_len > 0 && loop->jobs[loop->heap[0]].deadline_us <= now) expire(loop, loop->heap[0]);
    http_start_waiting(loop, now);
    icmp_flush(loop, now);
    deliver(engine, pe_now_us());
  }
  return NULL;
}

int engine_start(struct engine *engine, uint32_t max_conns, char *reason, size_t reason_len) {
  struct loop *loop = &engine->loop;
  memset(loop, 0, sizeof *loop);
  loop->free_head = NO_SLOT;
  loop->max_conns = max_conns;
  loop->icmp_fd[0] = loop->icmp_fd[1] = -1;
  loop->epfd = -1;
  engine->eventfd = -1;
  pthread_mutex_init(&engine->lock, NULL);
  engine->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (engine->eventfd < 0 || loop->epfd < 0) return errno;
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EPOLL_TAG_EVENTFD };
  if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, engine->eventfd, &ev) != 0) return errno;
  icmp_open(loop, reason, reason_len);
  /* The thread takes no signals: they stay with Node.js's main thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = pthread_create(&engine->thread, NULL, loop_main, engine);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err != 0) return err;
  engine->thread_started = true;
  return 0;
}

bool engine_submit(struct engine *engine, const struct submission *jobs, size_t count, bool wake) {
  pthread_mutex_lock(&engine->lock);
  bool ok = grow((void **)&engine->queue, &engine->queue_cap, engine->queue_len + count, sizeof *engine->queue);
  if (ok) {
    memcpy(engine->queue + engine->queue_len, jobs, count * sizeof *jobs);
    engine->queue_len += count;
  }
  pthread_mutex_unlock(&engine->lock);
  /* Not woken when the submission failed, nor when the caller wakes it with the next one. */
  if (ok && wake) engine_wake(engine);
  return ok;
}

void engine_wake(struct engine *engine) {
  uint64_t one = 1;
  if (write(engine->eventfd, &one, sizeof one) < 0) { /* the counter is already non-zero */ }
}

void engine_stop(struct engine *engine) {
  struct loop *loop = &engine->loop;
  if (engine->thread_started) {
    pthread_mutex_lock(&engine->lock);
    engine->stopping = true;
    pthread_mutex_unlock(&engine->lock);
    engine_wake(engine);
    pthread_join(engine->thread, NULL);
    engine->thread_started = false;
  }
  for (uint32_t slot = 0; slot < loop->jobs_cap; slot++) {
    struct job *job = &loop->jobs[slot];
    if (job->state == JS_FREE) continue;
    if (job->conn != NULL) http_abandon(loop, slot);
    else loop_free_slot(loop, slot);
  }
  for (size_t i = 0; i < engine->queue_len; i++) {
    if (engine->queue[i].target) http_target_release(engine->queue[i].target);
  }
  http_free_pool(loop);
  icmp_close(loop);
  if (loop->epfd >= 0) close(loop->epfd);
  if (engine->eventfd >= 0) close(engine->eventfd);
  loop->epfd = engine->eventfd = -1;
  free(loop->jobs);
  free(loop->heap);
  fifo_free(&loop->icmp_queue[0]);
  fifo_free(&loop->icmp_queue[1]);
  fifo_free(&loop->http_wait);
  free(loop->taken);
  free(engine->queue);
  batch_free(&loop->out);
  pthread_mutex_lock(&engine->lock);
  batch_free(&engine->outbox);
  pthread_mutex_unlock(&engine->lock);
  loop->jobs = NULL;
  loop->heap = NULL;
  loop->taken = NULL;
  engine->queue = NULL;
  loop->jobs_cap = loop->heap_len = 0;
  engine->queue_len = engine->queue_cap = 0;
}
