/* The app of bench/cold_start.py: an HTTP server that listens on $PORT as soon as it runs and
 * answers every request with a fixed 200. It appends "START LISTENING" (CLOCK_REALTIME seconds)
 * to $TINY_LOG, so the benchmark can subtract the app's own time to listen from what a first
 * request takes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void) {
  double start = now();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(getenv("PORT")));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) != 0 || listen(fd, 128) != 0) return 1;
  double listening = now();
  const char* log = getenv("TINY_LOG");
  if (log) {
    FILE* f = fopen(log, "a");
    if (f) {
      fprintf(f, "%.6f %.6f\n", start, listening);
      fclose(f);
    }
  }
  static const char reply[] =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    char buf[4096];
    ssize_t n = read(c, buf, sizeof buf);
    (void)n;
    ssize_t w = write(c, reply, sizeof reply - 1);
    (void)w;
    close(c);
  }
}
