/*
 * The HTTP floor of `npm run bench`: the least a process can spend on one
 * api check. For every target on stdin ("ADDRESS PORT", one a line, IPv4),
 * `--passes` times over: a non-blocking connect, the request the api probe
 * sends (GET /v3, Host, Accept: application/json, Connection: close), one
 * read for the status line, close. Up to `--concurrency` exchanges are in
 * flight at once on one epoll loop, as a probe engine would run them.
 *
 * Built by the benchmark with `cc -O2` into its work directory; the
 * benchmark takes this process's CPU from its own cutime + cstime once it
 * has reaped it. Prints one JSON line on stdout:
 *   {"exchanges":N,"ok":N,"failed":N,"wall_s":S,"user_s":S,"sys_s":S,"first_error":"..."}
 * (user_s/sys_s from getrusage(RUSAGE_SELF), a cross-check).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct target {
  struct sockaddr_in addr;
  char request[160];
  int request_len;
};

enum state { IDLE, CONNECTING, READING };

struct slot {
  int fd;
  enum state state;
  long deadline_ms;
};

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static char first_error[128] = "";

static void note_error(const char *what, int err) {
  if (first_error[0] == '\0') snprintf(first_error, sizeof first_error, "%s: %s", what, strerror(err));
}

int main(int argc, char **argv) {
  int concurrency = 256, passes = 1, timeout_ms = 3000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--concurrency") == 0) concurrency = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--passes") == 0) passes = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--timeout-ms") == 0) timeout_ms = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: http-floor [--concurrency N] [--passes N] [--timeout-ms MS] < targets\n");
      return 2;
    }
  }
  if (concurrency < 1 || passes < 1 || timeout_ms < 1) {
    fprintf(stderr, "http-floor: --concurrency, --passes and --timeout-ms must be positive\n");
    return 2;
  }

  size_t count = 0, capacity = 1024;
  struct target *targets = malloc(capacity * sizeof *targets);
  char address[64];
  int port;
  while (targets && scanf("%63s %d", address, &port) == 2) {
    if (count == capacity) {
      capacity *= 2;
      targets = realloc(targets, capacity * sizeof *targets);
      if (!targets) break;
    }
    struct target *t = &targets[count];
    memset(&t->addr, 0, sizeof t->addr);
    t->addr.sin_family = AF_INET;
    t->addr.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, address, &t->addr.sin_addr) != 1) {
      fprintf(stderr, "http-floor: not an IPv4 address: %s\n", address);
      return 2;
    }
    // The request Node's http client sends for the api probe.
    t->request_len = snprintf(t->request, sizeof t->request,
                              "GET /v3 HTTP/1.1\r\nAccept: application/json\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", address, port);
    count++;
  }
  if (!targets) {
    fprintf(stderr, "http-floor: out of memory\n");
    return 1;
  }
  if (count == 0) {
    fprintf(stderr, "http-floor: no targets on stdin\n");
    return 2;
  }
  if ((size_t)concurrency > count) concurrency = (int)count;

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    perror("epoll_create1");
    return 1;
  }
  struct slot *slots = calloc((size_t)concurrency, sizeof *slots);
  size_t *slot_target = calloc((size_t)concurrency, sizeof *slot_target);
  struct epoll_event *events = calloc((size_t)concurrency, sizeof *events);
  if (!slots || !slot_target || !events) {
    fprintf(stderr, "http-floor: out of memory\n");
    return 1;
  }
  size_t total = count * (size_t)passes, next = 0, done = 0, ok = 0, failed = 0;
  int in_flight = 0;
  char buffer[4096];
  long started = now_ms();

  for (;;) {
    // Fill every idle slot with the next exchange.
    for (int s = 0; s < concurrency && next < total; s++) {
      if (slots[s].state != IDLE) continue;
      struct target *t = &targets[next % count];
      slot_target[s] = next % count;
      next++;
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        note_error("socket", errno);
        failed++;
        done++;
        continue;
      }
      if (connect(fd, (struct sockaddr *)&t->addr, sizeof t->addr) < 0 && errno != EINPROGRESS) {
        note_error("connect", errno);
        close(fd);
        failed++;
        done++;
        continue;
      }
      struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (unsigned)s};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      slots[s] = (struct slot){.fd = fd, .state = CONNECTING, .deadline_ms = now_ms() + timeout_ms};
      in_flight++;
    }
    if (in_flight == 0 && next >= total) break;

    int n = epoll_wait(ep, events, concurrency, 100);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      int s = (int)events[i].data.u32;
      struct slot *slot = &slots[s];
      struct target *t = &targets[slot_target[s]];
      int finished = 0, success = 0;
      if (slot->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(slot->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          note_error("connect", err);
          finished = 1;
        } else if (write(slot->fd, t->request, (size_t)t->request_len) != t->request_len) {
          note_error("write", errno);
          finished = 1;
        } else {
          struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)s};
          epoll_ctl(ep, EPOLL_CTL_MOD, slot->fd, &ev);
          slot->state = READING;
        }
      } else if (slot->state == READING) {
        ssize_t got = read(slot->fd, buffer, sizeof buffer);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        finished = 1;
        // A status line: "HTTP/1.1 200 ..." up to its CRLF, in the first read (the server writes it in one go).
        if (got >= 12 && memcmp(buffer, "HTTP/1.", 7) == 0 && memchr(buffer, '\n', (size_t)got)) success = buffer[9] >= '1' && buffer[9] <= '5';
        else note_error("status line", got < 0 ? errno : EPROTO);
      }
      if (finished) {
        close(slot->fd);  // also takes it out of the epoll set
        slot->state = IDLE;
        in_flight--;
        done++;
        if (success) ok++;
        else failed++;
      }
    }
    // Exchanges past their deadline count as failed.
    long now = now_ms();
    for (int s = 0; s < concurrency; s++) {
      if (slots[s].state != IDLE && now > slots[s].deadline_ms) {
        note_error("deadline", ETIMEDOUT);
        close(slots[s].fd);
        slots[s].state = IDLE;
        in_flight--;
        done++;
        failed++;
      }
    }
  }

  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double wall = (now_ms() - started) / 1000.0;
  printf("{\"exchanges\":%zu,\"ok\":%zu,\"failed\":%zu,\"wall_s\":%.3f,\"user_s\":%.6f,\"sys_s\":%.6f,\"first_error\":\"%s\"}\n", done, ok, failed,
         wall, usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6, usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6, first_error);
  return 0;
}
