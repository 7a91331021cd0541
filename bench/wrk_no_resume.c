/* Makes wrk do a full TLS handshake on every new connection, for bench/https.sh: loaded into wrk
 * with LD_PRELOAD, built by the script into its scratch directory.
 *
 * wrk reconnects a connection by SSL_shutdown, SSL_clear and SSL_connect on the same SSL
 * object. SSL_clear keeps the session of a connection shut down cleanly, with the ticket a TLS
 * 1.3 server sent after the handshake, so that every reconnection resumes it (`-H "Connection:
 * close"` then measures resumptions: checked with nginx's $ssl_session_reused, "r" for all but
 * the first). Forgetting the session before SSL_clear makes the next SSL_connect start afresh. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>

int SSL_clear(SSL *ssl) {
  static int (*real_clear)(SSL *);
  if (!real_clear) real_clear = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
  SSL_set_session(ssl, NULL);
  return real_clear(ssl);
}
