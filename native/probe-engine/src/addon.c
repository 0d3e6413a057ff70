/*
 * The Node-API face of the engine (the contract is
 * src/probes/engine/native-binding.ts): jobs come in as typed arrays and go
 * to the engine's thread in one locked append; finished jobs come back in
 * batches through a thread-safe function, and their typed arrays are built
 * here, on the JavaScript thread.
 *
 * The thread-safe function is referenced only while jobs are in flight, so
 * an idle engine never keeps the process alive, and a busy one does until
 * its jobs are answered (or close() is called).
 */
#include "engine.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>
#include <openssl/crypto.h>
#ifdef __GLIBC__ /* defined by the headers above */
#include <malloc.h>
#endif

#define MAX_TIMEOUT_MS (24.0 * 3600 * 1000)
#define MAX_BODY (16u << 20)
#define MAX_REQUEST (1u << 20)

/* HTTP targets by key: open addressing, linear probing, JavaScript thread only. */
struct target_table {
  uint32_t *keys;
  struct http_target **values; /* NULL: empty; TOMBSTONE: removed */
  uint32_t cap, used;
};

static struct http_target TOMBSTONE_TARGET;
#define TOMBSTONE (&TOMBSTONE_TARGET)

struct addon_engine {
  struct engine engine;
  napi_threadsafe_function tsfn;
  bool tsfn_referenced;
  bool closed;
  bool tsfn_released;
  int refs; /* the JavaScript object and the thread-safe function */
  uint64_t submitted, delivered;
  struct batch js_batch;
  struct submission *scratch;
  size_t scratch_cap;
  struct target_table targets;
  SSL_CTX **tls;
  uint32_t tls_cap;
  napi_ref error_strings[PE_ERROR_COUNT];
};

void http_target_release(struct http_target *target) {
  if (target == NULL || target == TOMBSTONE) return;
  if (atomic_fetch_sub_explicit(&target->refs, 1, memory_order_acq_rel) != 1) return;
  if (target->session != NULL) SSL_SESSION_free(target->session);
  if (target->tls != NULL) SSL_CTX_free(target->tls);
  free(target->request);
  free(target->server_name);
  free(target);
}

/* ---- small helpers ------------------------------------------------------ */

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      const napi_extended_error_info *info_ = NULL;                        \
      napi_get_last_error_info((env), &info_);                             \
      bool pending_ = false;                                               \
      napi_is_exception_pending((env), &pending_);                         \
      if (!pending_) napi_throw_error((env), NULL, info_ && info_->error_message ? info_->error_message : "Node-API call failed"); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static bool parse_address(const char *text, pe_addr *out, socklen_t *len) {
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, text, &out->v4.sin_addr) == 1) {
    out->v4.sin_family = AF_INET;
    *len = sizeof out->v4;
    return true;
  }
  if (inet_pton(AF_INET6, text, &out->v6.sin6_addr) == 1) {
    out->v6.sin6_family = AF_INET6;
    *len = sizeof out->v6;
    return true;
  }
  return false;
}

/* A string argument into `buf`; false (with an exception) when it is not a string or too long. */
static bool get_string(napi_env env, napi_value value, char *buf, size_t size, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, buf, size, &len) != napi_ok) {
    char message[120];
    snprintf(message, sizeof message, "%s must be a string", what);
    throw_type(env, message);
    return false;
  }
  if (len >= size - 1) {
    char message[120];
    snprintf(message, sizeof message, "%s is too long", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  return true;
}

static char *get_string_alloc(napi_env env, napi_value value, size_t *out_len) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *text = malloc(len + 1);
  if (text == NULL) return NULL;
  napi_get_value_string_utf8(env, value, text, len + 1, &len);
  *out_len = len;
  return text;
}

static bool get_uint32_array(napi_env env, napi_value value, uint32_t **data, size_t *length, const char *what) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  napi_typedarray_type type;
  if (is_typed && napi_get_typedarray_info(env, value, &type, length, (void **)data, NULL, NULL) == napi_ok && type == napi_uint32_array) {
    return true;
  }
  char message[120];
  snprintf(message, sizeof message, "%s must be a Uint32Array", what);
  throw_type(env, message);
  return false;
}

static bool get_timeout(napi_env env, napi_value value, uint64_t *deadline_us) {
  double ms;
  if (napi_get_value_double(env, value, &ms) != napi_ok || !(ms >= 0) || ms > MAX_TIMEOUT_MS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "timeoutMs must be a number from 0 to 86400000");
    return false;
  }
  *deadline_us = pe_now_us() + (uint64_t)(ms * 1000.0);
  return true;
}

static struct addon_engine *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not a probe engine");
    return NULL;
  }
  struct addon_engine *ae = data;
  if (ae->closed) {
    napi_throw_error(env, "ERR_PROBE_ENGINE_CLOSED", "the probe engine is closed");
    return NULL;
  }
  return ae;
}

static bool scratch_room(struct addon_engine *ae, size_t count) {
  if (count <= ae->scratch_cap) return true;
  struct submission *grown = realloc(ae->scratch, count * sizeof *grown);
  if (grown == NULL) return false;
  ae->scratch = grown;
  ae->scratch_cap = count;
  return true;
}

/*
 * Hands the scratch jobs to the thread and keeps the process alive until they are answered. `more`: another call
 * follows at once (the other kind of the same tick), so the thread is not woken for these alone: it takes both
 * together, and answers both in one delivery instead of waking JavaScript for the first while the second comes.
 */
static napi_value submit(napi_env env, struct addon_engine *ae, size_t count, bool more) {
  if (count == 0) {
    if (!more) engine_wake(&ae->engine);
    return NULL;
  }
  if (!engine_submit(&ae->engine, ae->scratch, count, !more)) {
    for (size_t i = 0; i < count; i++) http_target_release(ae->scratch[i].target);
    napi_throw_error(env, "ENOMEM", "out of memory queueing probe jobs");
    return NULL;
  }
  ae->submitted += count;
  if (!ae->tsfn_referenced) {
    napi_ref_threadsafe_function(env, ae->tsfn);
    ae->tsfn_referenced = true;
  }
  return NULL;
}

/* ---- target table ------------------------------------------------------ */

static uint32_t hash_key(uint32_t key) {
  key ^= key >> 16;
  key *= 0x7feb352d;
  key ^= key >> 15;
  key *= 0x846ca68b;
  key ^= key >> 16;
  return key;
}

static struct http_target **table_find(struct target_table *t, uint32_t key) {
  if (t->cap == 0) return NULL;
  for (uint32_t i = hash_key(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    if (t->values[i] == NULL) return NULL;
    if (t->values[i] != TOMBSTONE && t->keys[i] == key) return &t->values[i];
  }
}

static bool table_put(struct target_table *t, uint32_t key, struct http_target *value);

static bool table_grow(struct target_table *t) {
  /* Sized for the live entries only: tombstones of dropped targets are left behind. */
  uint32_t live = 0;
  for (uint32_t i = 0; i < t->cap; i++) live += t->values[i] != NULL && t->values[i] != TOMBSTONE;
  struct target_table bigger = { 0 };
  bigger.cap = 64;
  while ((live + 1) * 2 > bigger.cap) bigger.cap *= 2;
  bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
  bigger.values = calloc(bigger.cap, sizeof *bigger.values);
  if (bigger.keys == NULL || bigger.values == NULL) {
    free(bigger.keys);
    free(bigger.values);
    return false;
  }
  for (uint32_t i = 0; i < t->cap; i++) {
    if (t->values[i] != NULL && t->values[i] != TOMBSTONE) table_put(&bigger, t->keys[i], t->values[i]);
  }
  free(t->keys);
  free(t->values);
  *t = bigger;
  return true;
}

/* Puts `value` under `key`, releasing what was there. */
static bool table_put(struct target_table *t, uint32_t key, struct http_target *value) {
  struct http_target **found = table_find(t, key);
  if (found != NULL) {
    http_target_release(*found);
    *found = value;
    return true;
  }
  if ((t->used + 1) * 4 > t->cap * 3 && !table_grow(t)) return false;
  uint32_t i = hash_key(key) & (t->cap - 1);
  while (t->values[i] != NULL && t->values[i] != TOMBSTONE) i = (i + 1) & (t->cap - 1);
  if (t->values[i] == NULL) t->used++;
  t->keys[i] = key;
  t->values[i] = value;
  return true;
}

static void table_clear(struct target_table *t) {
  for (uint32_t i = 0; i < t->cap; i++) http_target_release(t->values[i]);
  free(t->keys);
  free(t->values);
  memset(t, 0, sizeof *t);
}

/* ---- results to JavaScript -------------------------------------------- */

static napi_value typed(napi_env env, napi_typedarray_type type, const void *source, size_t count, size_t stride, size_t offset) {
  void *data = NULL;
  napi_value buffer, array;
  if (napi_create_arraybuffer(env, count * 4, &data, &buffer) != napi_ok) return NULL;
  uint8_t *to = data;
  const uint8_t *from = (const uint8_t *)source + offset;
  for (size_t i = 0; i < count; i++) memcpy(to + i * 4, from + i * stride, 4);
  if (napi_create_typedarray(env, type, count, buffer, 0, &array) != napi_ok) return NULL;
  return array;
}

static napi_value error_string(napi_env env, struct addon_engine *ae, uint16_t code) {
  napi_value value = NULL;
  if (code >= PE_ERROR_COUNT) code = PE_EIO;
  if (ae->error_strings[code] != NULL && napi_get_reference_value(env, ae->error_strings[code], &value) == napi_ok && value != NULL) return value;
  napi_create_string_utf8(env, pe_error_name(code), NAPI_AUTO_LENGTH, &value);
  napi_create_reference(env, value, 1, &ae->error_strings[code]);
  return value;
}

static void build_and_call(napi_env env, napi_value callback, struct addon_engine *ae) {
  struct batch *b = &ae->js_batch;
  size_t n = b->count;
  const struct result *r = b->results;
  napi_value results, value, errors;
  napi_create_object(env, &results);
  napi_create_uint32(env, (uint32_t)n, &value);
  napi_set_named_property(env, results, "count", value);
  napi_set_named_property(env, results, "ids", typed(env, napi_uint32_array, r, n, sizeof *r, offsetof(struct result, id)));
  napi_set_named_property(env, results, "outcome", typed(env, napi_int32_array, r, n, sizeof *r, offsetof(struct result, outcome)));
  napi_set_named_property(env, results, "latencyUs", typed(env, napi_uint32_array, r, n, sizeof *r, offsetof(struct result, latency_us)));
  napi_create_array_with_length(env, n, &errors);
  for (size_t i = 0; i < n; i++) {
    if (r[i].error != PE_OK && r[i].outcome == 0) napi_set_element(env, errors, (uint32_t)i, error_string(env, ae, r[i].error));
  }
  napi_set_named_property(env, results, "errors", errors);
  void *copied = NULL;
  napi_create_buffer_copy(env, b->bytes_len, b->bytes_len ? b->bytes : (const void *)"", &copied, &value);
  napi_set_named_property(env, results, "bodies", value);
  napi_set_named_property(env, results, "bodyStart", typed(env, napi_uint32_array, r, n, sizeof *r, offsetof(struct result, body_start)));
  napi_set_named_property(env, results, "bodyLength", typed(env, napi_uint32_array, r, n, sizeof *r, offsetof(struct result, body_length)));
  b->count = 0;
  b->bytes_len = 0;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  if (napi_call_function(env, undefined, callback, 1, &results, NULL) != napi_ok) {
    /* The callback threw: surface it as an uncaught exception, as an event listener's would be. */
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
}

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)data;
  struct addon_engine *ae = context;
  if (env == NULL || ae->closed) return;
  struct engine *e = &ae->engine;
  pthread_mutex_lock(&e->lock);
  struct batch taken = e->outbox;
  e->outbox = ae->js_batch; /* the emptied arrays go back to the thread for its next results */
  e->outbox_posted = false;
  pthread_mutex_unlock(&e->lock);
  ae->js_batch = taken;
  ae->delivered += taken.count;
  if (ae->delivered >= ae->submitted && ae->tsfn_referenced) {
    napi_unref_threadsafe_function(env, ae->tsfn);
    ae->tsfn_referenced = false;
  }
  if (taken.count == 0) return;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  build_and_call(env, callback, ae);
  napi_close_handle_scope(env, scope);
}

static void post_results(struct engine *engine) {
  struct addon_engine *ae = engine->post_context;
  napi_call_threadsafe_function(ae->tsfn, NULL, napi_tsfn_nonblocking);
}

/* ---- lifetime ------------------------------------------------------------ */

static void release_engine(napi_env env, struct addon_engine *ae) {
  if (--ae->refs > 0) return;
  for (int i = 0; i < PE_ERROR_COUNT; i++) {
    if (ae->error_strings[i] != NULL && env != NULL) napi_delete_reference(env, ae->error_strings[i]);
  }
  batch_free(&ae->js_batch);
  free(ae->scratch);
  free(ae);
}

/* Stops the thread and frees what the engine holds; idempotent. Safe in finalizers. */
static void stop_engine(struct addon_engine *ae) {
  if (ae->closed) return;
  ae->closed = true;
  engine_stop(&ae->engine);
  pthread_mutex_destroy(&ae->engine.lock);
  table_clear(&ae->targets);
  for (uint32_t i = 0; i < ae->tls_cap; i++) {
    if (ae->tls[i] != NULL) SSL_CTX_free(ae->tls[i]);
  }
  free(ae->tls);
  ae->tls = NULL;
  ae->tls_cap = 0;
}

/*
 * close(): stops the engine and lets go of the thread-safe function. Only
 * from JavaScript: a finalizer may run while Node.js is tearing that very
 * function down (at exit), so finalizers only stop the engine, and an
 * engine collected without close() keeps its (unreferenced) thread-safe
 * function until the environment ends.
 */
static void close_engine(struct addon_engine *ae) {
  stop_engine(ae);
  if (!ae->tsfn_released) {
    ae->tsfn_released = true;
    napi_release_threadsafe_function(ae->tsfn, napi_tsfn_abort);
  }
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  struct addon_engine *ae = data;
  stop_engine(ae); /* the thread must not post to a function that is gone */
  ae->tsfn_released = true;
  release_engine(env, ae);
}

static void wrapper_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  struct addon_engine *ae = data;
  stop_engine(ae);
  release_engine(env, ae);
}

static const char *mode_name(enum icmp_mode mode) {
  return mode == ICMP_RAW ? "raw" : mode == ICMP_DGRAM ? "dgram" : "none";
}

static napi_value engine_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype type = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    return throw_type(env, "onResults must be a function");
  }
  uint32_t max_conns = 4096;
  if (argc >= 2 && napi_typeof(env, argv[1], &type) == napi_ok && type == napi_object) {
    bool has = false;
    napi_has_named_property(env, argv[1], "maxConnections", &has);
    napi_value value;
    napi_valuetype vtype = napi_undefined;
    if (has) {
      napi_get_named_property(env, argv[1], "maxConnections", &value);
      napi_typeof(env, value, &vtype);
    }
    if (vtype != napi_undefined) {
      double number;
      if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= 1) || number > 1000000) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "maxConnections must be a number from 1 to 1000000");
        return NULL;
      }
      max_conns = (uint32_t)number;
    }
  }
  struct addon_engine *ae = calloc(1, sizeof *ae);
  if (ae == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  ae->engine.post = post_results;
  ae->engine.post_context = ae;
  napi_value name;
  napi_create_string_utf8(env, "vim-monitor probe engine", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, ae, tsfn_finalize, ae, call_js, &ae->tsfn) != napi_ok) {
    free(ae);
    napi_throw_error(env, NULL, "could not make the thread-safe function");
    return NULL;
  }
  ae->refs = 2;
  napi_unref_threadsafe_function(env, ae->tsfn); /* idle: do not keep the process alive */
  char reason[512] = "";
  int err = engine_start(&ae->engine, max_conns, reason, sizeof reason);
  if (err != 0) {
    char message[160];
    snprintf(message, sizeof message, "the probe engine could not start: %s", strerror(err));
    close_engine(ae);
    release_engine(env, ae); /* the object's share: the thread-safe function's goes with its finalizer */
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  if (napi_wrap(env, self, ae, wrapper_finalize, NULL, NULL) != napi_ok) {
    close_engine(ae);
    release_engine(env, ae);
    napi_throw_error(env, NULL, "could not wrap the probe engine");
    return NULL;
  }
  napi_value icmp, value;
  napi_create_object(env, &icmp);
  napi_create_string_utf8(env, mode_name(ae->engine.loop.icmp_mode[0]), NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, icmp, "ipv4", value);
  napi_create_string_utf8(env, mode_name(ae->engine.loop.icmp_mode[1]), NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, icmp, "ipv6", value);
  if (reason[0] != '\0') {
    napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, icmp, "reason", value);
  }
  napi_object_freeze(env, icmp);
  napi_property_descriptor prop = { "icmp", NULL, NULL, NULL, NULL, icmp, napi_enumerable, NULL };
  napi_define_properties(env, self, 1, &prop);
  return self;
}

/* ---- methods -------------------------------------------------------------- */

/* The optional last argument of ping() and http(): true when another submission follows at once. */
static bool get_more(napi_env env, size_t argc, napi_value *argv, size_t at, bool *more) {
  *more = false;
  if (argc <= at) return true;
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, argv[at], &type) != napi_ok) return false;
  if (type == napi_undefined) return true;
  if (type != napi_boolean || napi_get_value_bool(env, argv[at], more) != napi_ok) {
    throw_type(env, "more must be a boolean");
    return false;
  }
  return true;
}

static napi_value engine_ping(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  struct addon_engine *ae = unwrap(env, info, &argc, argv);
  if (ae == NULL) return NULL;
  uint32_t *ids;
  size_t count;
  uint32_t addresses_len = 0;
  bool is_array = false;
  uint64_t deadline;
  if (argc < 3 || !get_uint32_array(env, argv[0], &ids, &count, "ids")) return argc < 3 ? throw_type(env, "ping(ids, addresses, timeoutMs)") : NULL;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) return throw_type(env, "addresses must be an array of IP address strings");
  napi_get_array_length(env, argv[1], &addresses_len);
  if (addresses_len != count) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "ids and addresses must have the same length");
    return NULL;
  }
  bool more;
  if (!get_timeout(env, argv[2], &deadline) || !get_more(env, argc, argv, 3, &more)) return NULL;
  if (!scratch_room(ae, count)) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    napi_value element;
    char text[INET6_ADDRSTRLEN + 1];
    socklen_t len;
    napi_get_element(env, argv[1], (uint32_t)i, &element);
    if (!get_string(env, element, text, sizeof text, "every address")) return NULL;
    struct submission *s = &ae->scratch[i];
    if (!parse_address(text, &s->addr, &len)) {
      char message[120];
      snprintf(message, sizeof message, "addresses[%zu] is not an IPv4 or IPv6 literal", i);
      return throw_type(env, message);
    }
    s->id = ids[i];
    s->kind = JOB_ICMP;
    s->deadline_us = deadline;
    s->target = NULL;
  }
  return submit(env, ae, count, more);
}

static napi_value engine_http(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  struct addon_engine *ae = unwrap(env, info, &argc, argv);
  if (ae == NULL) return NULL;
  uint32_t *ids, *keys;
  size_t count, keys_count;
  uint64_t deadline;
  if (argc < 3) return throw_type(env, "http(ids, targets, timeoutMs)");
  if (!get_uint32_array(env, argv[0], &ids, &count, "ids") || !get_uint32_array(env, argv[1], &keys, &keys_count, "targets")) return NULL;
  if (keys_count != count) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "ids and targets must have the same length");
    return NULL;
  }
  bool more;
  if (!get_timeout(env, argv[2], &deadline) || !get_more(env, argc, argv, 3, &more)) return NULL;
  if (!scratch_room(ae, count)) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    struct http_target **found = table_find(&ae->targets, keys[i]);
    if (found == NULL) {
      for (size_t j = 0; j < i; j++) http_target_release(ae->scratch[j].target);
      char message[120];
      snprintf(message, sizeof message, "no HTTP target %u is defined (defineHttpTarget first)", keys[i]);
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
      return NULL;
    }
    atomic_fetch_add_explicit(&(*found)->refs, 1, memory_order_relaxed);
    struct submission *s = &ae->scratch[i];
    s->id = ids[i];
    s->kind = JOB_HTTP;
    s->deadline_us = deadline;
    s->target = *found;
  }
  return submit(env, ae, count, more);
}

static bool get_property(napi_env env, napi_value object, const char *name, napi_value *value, napi_valuetype want) {
  napi_valuetype type = napi_undefined;
  if (napi_get_named_property(env, object, name, value) != napi_ok || napi_typeof(env, *value, &type) != napi_ok || type != want) {
    char message[120];
    snprintf(message, sizeof message, "options.%s must be a %s", name,
             want == napi_string ? "string" : want == napi_number ? "number" : want == napi_boolean ? "boolean" : "value");
    throw_type(env, message);
    return false;
  }
  return true;
}

static napi_value engine_tls_context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], value;
  struct addon_engine *ae = unwrap(env, info, &argc, argv);
  if (ae == NULL) return NULL;
  napi_valuetype type = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_object) return throw_type(env, "tlsContext(options) takes an object");
  bool verify;
  if (!get_property(env, argv[0], "verify", &value, napi_boolean)) return NULL;
  napi_get_value_bool(env, value, &verify);
  if (!get_property(env, argv[0], "caPem", &value, napi_string)) return NULL;
  size_t pem_len = 0;
  char *pem = get_string_alloc(env, value, &pem_len);
  if (pem == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  char why[160] = "";
  SSL_CTX *ctx = tls_context_new(verify, pem, pem_len, why, sizeof why);
  free(pem);
  if (ctx == NULL) {
    napi_throw_error(env, "ERR_PROBE_ENGINE_TLS", why);
    return NULL;
  }
  uint32_t id = 0;
  while (id < ae->tls_cap && ae->tls[id] != NULL) id++;
  if (id == ae->tls_cap) {
    uint32_t cap = ae->tls_cap ? ae->tls_cap * 2 : 8;
    SSL_CTX **grown = realloc(ae->tls, cap * sizeof *grown);
    if (grown == NULL) {
      SSL_CTX_free(ctx);
      napi_throw_error(env, "ENOMEM", "out of memory");
      return NULL;
    }
    memset(grown + ae->tls_cap, 0, (cap - ae->tls_cap) * sizeof *grown);
    ae->tls = grown;
    ae->tls_cap = cap;
  }
  ae->tls[id] = ctx;
  napi_value result;
  napi_create_uint32(env, id + 1, &result);
  return result;
}

static SSL_CTX **tls_slot(struct addon_engine *ae, uint32_t id) {
  if (id == 0 || id > ae->tls_cap || ae->tls[id - 1] == NULL) return NULL;
  return &ae->tls[id - 1];
}

static napi_value engine_drop_tls_context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct addon_engine *ae = unwrap(env, info, &argc, argv);
  if (ae == NULL) return NULL;
  uint32_t id = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) return throw_type(env, "dropTlsContext(id) takes a number");
  SSL_CTX **slot = tls_slot(ae, id);
  if (slot != NULL) {
    SSL_CTX_free(*slot); /* targets defined with it keep their own reference */
    *slot = NULL;
  }
  return NULL;
}

static napi_value engine_define_http_target(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], value;
  struct addon_engine *ae = unwrap(env, info, &argc, argv);
  if (ae == NULL) return NULL;
  uint32_t key;
  napi_valuetype type = napi_undefined;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &key) != napi_ok) return throw_type(env, "defineHttpTarget(key, options): key must be a number");
  if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_object) return throw_type(env, "defineHttpTarget(key, options): options must be an object");
  char address[INET6_ADDRSTRLEN + 1];
  if (!get_property(env, argv[1], "address", &value, napi_string) || !get_string(env, value, address, sizeof address, "options.address")) return NULL;
  pe_addr addr;
  socklen_t addr_len;
  if (!parse_address(address, &addr, &addr_len)) return throw_type(env, "options.address must be an IPv4 or IPv6 literal");
  uint32_t port, tls_id, max_body;
  if (!get_property(env, argv[1], "port", &value, napi_number)) return NULL;
  napi_get_value_uint32(env, value, &port);
  if (port == 0 || port > 65535) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "options.port must be from 1 to 65535");
    return NULL;
  }
  if (!get_property(env, argv[1], "tlsContext", &value, napi_number)) return NULL;
  napi_get_value_uint32(env, value, &tls_id);
  if (!get_property(env, argv[1], "maxBody", &value, napi_number)) return NULL;
  napi_get_value_uint32(env, value, &max_body);
  if (max_body > MAX_BODY) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "options.maxBody must be at most 16 MiB");
    return NULL;
  }
  SSL_CTX **ctx = NULL;
  if (tls_id != 0 && (ctx = tls_slot(ae, tls_id)) == NULL) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "options.tlsContext is not a live TLS context id");
    return NULL;
  }
  char *server_name = NULL;
  if (ctx != NULL) {
    size_t name_len = 0;
    if (!get_property(env, argv[1], "serverName", &value, napi_string)) return NULL;
    server_name = get_string_alloc(env, value, &name_len);
    if (server_name == NULL || name_len == 0) {
      free(server_name);
      return throw_type(env, "options.serverName must name the server for TLS");
    }
  }
  napi_get_named_property(env, argv[1], "request", &value);
  void *request_data = NULL;
  size_t request_len = 0;
  bool is_buffer = false;
  napi_is_buffer(env, value, &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, value, &request_data, &request_len) != napi_ok || request_len == 0 || request_len > MAX_REQUEST) {
    free(server_name);
    return throw_type(env, "options.request must be a non-empty Buffer of at most 1 MiB");
  }
  struct http_target *t = calloc(1, sizeof *t);
  uint8_t *request = malloc(request_len);
  if (t == NULL || request == NULL) {
    free(t);
    free(request);
    free(server_name);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  memcpy(request, request_data, request_len);
  atomic_init(&t->refs, 1);
  t->addr = addr;
  t->addr.v4.sin_port = htons((uint16_t)port); /* the same offset in sockaddr_in6 */
  t->addr_len = addr_len;
  t->request = request;
  t->request_len = (uint32_t)request_len;
  t->max_body = max_body;
  if (ctx != NULL) {
    SSL_CTX_up_ref(*ctx);
    t->tls = *ctx;
    t->server_name = server_name;
    pe_addr probe;
    socklen_t probe_len;
    t->server_name_is_ip = parse_address(server_name, &probe, &probe_len);
  }
  if (!table_put(&ae->targets, key, t)) {
    http_target_release(t);
    napi_throw_error(env, "ENOMEM", "out of memory");
  }
  return NULL;
}

static napi_value engine_drop_http_target(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct addon_engine *ae = unwrap(env, info, &argc, argv);
  if (ae == NULL) return NULL;
  uint32_t key;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &key) != napi_ok) return throw_type(env, "dropHttpTarget(key) takes a number");
  struct http_target **found = table_find(&ae->targets, key);
  if (found != NULL) {
    http_target_release(*found); /* jobs in flight keep their own reference */
    *found = TOMBSTONE;
  }
  return NULL;
}

static void set_number(napi_env env, napi_value object, const char *name, double number) {
  napi_value value;
  napi_create_double(env, number, &value);
  napi_set_named_property(env, object, name, value);
}

static napi_value engine_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  void *data = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
  CHECK(env, napi_unwrap(env, self, &data));
  struct addon_engine *ae = data;
  double finished = (double)atomic_load_explicit(&ae->engine.finished, memory_order_relaxed);
  napi_value stats;
  napi_create_object(env, &stats);
  set_number(env, stats, "submitted", (double)ae->submitted);
  set_number(env, stats, "finished", finished);
  set_number(env, stats, "inFlight", ae->closed ? 0 : (double)ae->submitted - finished);
  set_number(env, stats, "echoSent", (double)atomic_load_explicit(&ae->engine.echo_sent, memory_order_relaxed));
  return stats;
}

static napi_value engine_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  void *data = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
  CHECK(env, napi_unwrap(env, self, &data));
  close_engine(data);
  return NULL;
}

/*
 * Gives the pages of freed malloc memory back to the kernel (glibc's malloc_trim: free chunks inside the arenas
 * are released with MADV_DONTNEED, not only the top of the heap). Freed memory otherwise stays in the process's
 * RSS: at 10,000 VIMs about 9 MB of it (zlib's and SQLite's buffers between history flushes, the engine's
 * per-exchange buffers). Returns whether any memory was released; false where the C library has no such call.
 */
static napi_value trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
  bool released = false;
#ifdef __GLIBC__
  released = malloc_trim(0) != 0;
#endif
  napi_value result;
  CHECK(env, napi_get_boolean(env, released, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
    { "ping", NULL, engine_ping, NULL, NULL, NULL, napi_default_method, NULL },
    { "tlsContext", NULL, engine_tls_context, NULL, NULL, NULL, napi_default_method, NULL },
    { "dropTlsContext", NULL, engine_drop_tls_context, NULL, NULL, NULL, napi_default_method, NULL },
    { "defineHttpTarget", NULL, engine_define_http_target, NULL, NULL, NULL, napi_default_method, NULL },
    { "dropHttpTarget", NULL, engine_drop_http_target, NULL, NULL, NULL, napi_default_method, NULL },
    { "http", NULL, engine_http, NULL, NULL, NULL, napi_default_method, NULL },
    { "stats", NULL, engine_stats, NULL, NULL, NULL, napi_default_method, NULL },
    { "close", NULL, engine_close, NULL, NULL, NULL, napi_default_method, NULL },
  };
  napi_value cls, version;
  CHECK(env, napi_define_class(env, "Engine", NAPI_AUTO_LENGTH, engine_new, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  CHECK(env, napi_set_named_property(env, exports, "Engine", cls));
  char text[160];
  snprintf(text, sizeof text, "probe-engine %s (%s)", PROBE_ENGINE_VERSION, OpenSSL_version(OPENSSL_VERSION));
  CHECK(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &version));
  CHECK(env, napi_set_named_property(env, exports, "version", version));
  napi_value trim;
  CHECK(env, napi_create_function(env, "trimMemory", NAPI_AUTO_LENGTH, trim_memory, NULL, &trim));
  CHECK(env, napi_set_named_property(env, exports, "trimMemory", trim));
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
