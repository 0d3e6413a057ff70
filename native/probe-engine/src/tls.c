/*
 * TLS with the OpenSSL that Node.js carries (the addon links against the
 * symbols of the running node binary): client contexts that trust exactly
 * the CA certificates given, and handshake failures named the way Node.js
 * names them, so a reason reads the same whichever engine probed.
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static int continue_verification(int preverify_ok, X509_STORE_CTX *store) {
  (void)preverify_ok;
  (void)store;
  return 1;
}

SSL_CTX *tls_context_new(bool verify, const char *ca_pem, size_t ca_pem_len, char *why, size_t why_len) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL) {
    snprintf(why, why_len, "OpenSSL could not make a client context");
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* A server that closes without close_notify after its answer is normal for HTTP/1 with Connection: close. */
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  /*
   * Like Node.js, let the handshake finish and judge the verification result
   * afterwards (tls_verify_failure), before a byte of the request is sent:
   * the error reported is then the one Node.js reports for the same chain
   * (the last of them, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE for a leaf whose
   * issuer is unknown rather than UNABLE_TO_GET_ISSUER_CERT_LOCALLY).
   */
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, verify ? continue_verification : NULL);
  if (ca_pem_len > 0) {
    BIO *bio = BIO_new_mem_buf(ca_pem, (int)ca_pem_len);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    X509 *cert;
    while (bio != NULL && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
      if (X509_STORE_add_cert(store, cert) == 1) count++;
      X509_free(cert);
    }
    BIO_free(bio);
    ERR_clear_error(); /* the end of the PEM text reads as an error */
    if (count == 0) {
      SSL_CTX_free(ctx);
      snprintf(why, why_len, "caPem holds no PEM certificate");
      return NULL;
    }
  }
  return ctx;
}

static uint16_t verify_error(long result) {
  switch (result) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return PE_DEPTH_ZERO_SELF_SIGNED_CERT;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return PE_SELF_SIGNED_CERT_IN_CHAIN;
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return PE_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: return PE_UNABLE_TO_GET_ISSUER_CERT;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: return PE_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    case X509_V_ERR_CERT_HAS_EXPIRED: return PE_CERT_HAS_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID: return PE_CERT_NOT_YET_VALID;
    case X509_V_ERR_CERT_UNTRUSTED: return PE_CERT_UNTRUSTED;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return PE_CERT_SIGNATURE_FAILURE;
    case X509_V_ERR_CERT_REVOKED: return PE_CERT_REVOKED;
    case X509_V_ERR_INVALID_CA: return PE_INVALID_CA;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return PE_ERR_TLS_CERT_ALTNAME_INVALID;
    default: return PE_EPROTO;
  }
}

uint16_t tls_verify_failure(SSL *ssl) {
  if (!(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) return PE_OK;
  long result = SSL_get_verify_result(ssl);
  if (result != X509_V_OK) return verify_error(result);
  X509 *peer = SSL_get1_peer_certificate(ssl);
  if (peer == NULL) return PE_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
  X509_free(peer);
  return PE_OK;
}

uint16_t tls_handshake_error(SSL *ssl, int ssl_error, int saved_errno) {
  long result = SSL_get_verify_result(ssl);
  if (result != X509_V_OK && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) return verify_error(result);
  if (ssl_error == SSL_ERROR_SYSCALL) {
    /* The peer went away mid-handshake; Node.js says ECONNRESET too. */
    return saved_errno != 0 ? pe_error_from_errno(saved_errno) : PE_ECONNRESET;
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return PE_ECONNRESET;
  if (ssl_error == SSL_ERROR_SSL) {
    unsigned long err = ERR_peek_error();
    if (ERR_GET_LIB(err) == ERR_LIB_SSL) {
      int reason = ERR_GET_REASON(err);
      if (reason == SSL_R_WRONG_VERSION_NUMBER) {
        return PE_ERR_SSL_WRONG_VERSION_NUMBER;
      }
      if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) return PE_ECONNRESET;
    }
  }
  return PE_EPROTO;
}
