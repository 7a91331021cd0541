/* A DNS load generator that costs less per query than the servers it measures, for bench/dns.sh.
 *
 * dnsperf spends about 6 us of its core per query here: pinned to one core it tops out near
 * 160,000 queries a second, which is below what rp's responder answers on its own core, so its
 * queries per second only say "at least". This one keeps WINDOW queries in flight on one
 * connected UDP socket, sends them with sendmmsg and reads the answers with recvmmsg, a batch at a
 * time, so the server's core is the limit.
 *
 *   dns_flood HOST PORT QUERIES_FILE SECONDS [WINDOW]
 *
 * QUERIES_FILE has one query a line, "NAME TYPE" (TYPE is A or AAAA), as dnsperf reads it; they
 * are sent in order, round and round. At the end it prints one line:
 *   sent N answered N lost N qps Q avg_ms A
 * where lost counts queries not answered within a second (their place in the window is given to
 * new ones) and the qps counts answers. Loopback only; exits by itself after SECONDS. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kBatch = 32, kMaxQuery = 300, kIds = 65536 };

typedef struct {
  unsigned char bytes[kMaxQuery];
  size_t size;
} Query;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Encodes "NAME TYPE" as a query with recursion desired; 0 if the line is not one. */
static size_t encode(const char *line, unsigned char *out) {
  char name[256], type[16];
  if (sscanf(line, "%255s %15s", name, type) != 2) return 0;
  size_t n = 12;
  memset(out, 0, 12);
  out[2] = 0x01; /* RD */
  out[5] = 1;    /* QDCOUNT */
  for (char *label = strtok(name, "."); label; label = strtok(NULL, ".")) {
    size_t len = strlen(label);
    if (len == 0 || len > 63 || n + len + 6 > kMaxQuery) return 0;
    out[n++] = (unsigned char)len;
    memcpy(out + n, label, len);
    n += len;
  }
  out[n++] = 0;
  const int qtype = strcmp(type, "AAAA") == 0 ? 28 : 1;
  out[n++] = 0;
  out[n++] = (unsigned char)qtype;
  out[n++] = 0;
  out[n++] = 1; /* IN */
  return n;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: dns_flood HOST PORT QUERIES_FILE SECONDS [WINDOW]\n");
    return 2;
  }
  const double seconds = atof(argv[4]);
  const int window = argc > 5 ? atoi(argv[5]) : 128;
  if (window < 1 || window > kIds / 2) {
    fprintf(stderr, "dns_flood: WINDOW must be 1..%d\n", kIds / 2);
    return 2;
  }

  FILE *file = fopen(argv[3], "r");
  if (!file) {
    perror(argv[3]);
    return 1;
  }
  size_t count = 0, capacity = 1024;
  Query *queries = malloc(capacity * sizeof *queries);
  char line[512];
  while (queries && fgets(line, sizeof line, file)) {
    if (count == capacity) queries = realloc(queries, (capacity *= 2) * sizeof *queries);
    if (!queries) break;
    queries[count].size = encode(line, queries[count].bytes);
    if (queries[count].size) ++count;
  }
  fclose(file);
  if (!queries || count == 0) {
    fprintf(stderr, "dns_flood: no queries in %s\n", argv[3]);
    return 1;
  }

  struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0 || inet_pton(AF_INET, argv[1], &server.sin_addr) != 1 ||
      connect(fd, (struct sockaddr *)&server, sizeof server) != 0) {
    perror("dns_flood: socket");
    return 1;
  }

  /* Each query in flight by its ID: when it left (0: not in flight). IDs go round in order, so
   * the one to reuse next is the oldest. */
  static double sent_at[kIds];
  static unsigned char out[kBatch][kMaxQuery], in[kBatch][512];
  struct mmsghdr out_msgs[kBatch], in_msgs[kBatch];
  struct iovec out_iov[kBatch], in_iov[kBatch];
  uint16_t next_id = 0;
  size_t next_query = 0;
  long in_flight = 0, sent = 0, answered = 0, lost = 0;
  double latency_sum = 0, last_sweep = now_s();
  const double start = now_s(), end = start + seconds;

  for (double now = start; now < end; now = now_s()) {
    /* Fill the window. */
    while (in_flight < window) {
      int n = 0;
      for (; n < kBatch && in_flight + n < window; ++n) {
        const Query *q = &queries[next_query];
        next_query = (next_query + 1) % count;
        memcpy(out[n], q->bytes, q->size);
        const uint16_t id = (uint16_t)(next_id + n);
        out[n][0] = (unsigned char)(id >> 8);
        out[n][1] = (unsigned char)id;
        out_iov[n] = (struct iovec){out[n], q->size};
        out_msgs[n] = (struct mmsghdr){.msg_hdr = {.msg_iov = &out_iov[n], .msg_iovlen = 1}};
      }
      const int m = sendmmsg(fd, out_msgs, (unsigned)n, 0);
      if (m <= 0) break; /* the socket's buffer is full: read first */
      for (int i = 0; i < m; ++i) {
        const uint16_t id = (uint16_t)(next_id + i);
        if (sent_at[id] != 0) { /* still unanswered a whole round of IDs later */
          ++lost;
          --in_flight;
        }
        sent_at[id] = now;
      }
      next_id = (uint16_t)(next_id + m);
      in_flight += m;
      sent += m;
    }

    /* Read what came back. */
    for (int i = 0; i < kBatch; ++i) {
      in_iov[i] = (struct iovec){in[i], sizeof in[i]};
      in_msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &in_iov[i], .msg_iovlen = 1}};
    }
    int n = recvmmsg(fd, in_msgs, kBatch, 0, NULL);
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, 10);
      n = recvmmsg(fd, in_msgs, kBatch, 0, NULL);
    }
    const double got = now_s();
    for (int i = 0; i < n; ++i) {
      if (in_msgs[i].msg_len < 12) continue;
      const uint16_t id = (uint16_t)(in[i][0] << 8 | in[i][1]);
      if (sent_at[id] == 0) continue; /* late, already counted lost */
      latency_sum += got - sent_at[id];
      sent_at[id] = 0;
      ++answered;
      --in_flight;
    }

    /* Queries a server dropped: after a second their place goes to new ones. */
    if (got - last_sweep > 0.25) {
      last_sweep = got;
      for (int id = 0; id < kIds; ++id) {
        if (sent_at[id] != 0 && got - sent_at[id] > 1.0) {
          sent_at[id] = 0;
          ++lost;
          --in_flight;
        }
      }
    }
  }
  const double took = now_s() - start;
  printf("sent %ld answered %ld lost %ld qps %.0f avg_ms %.3f\n", sent, answered, lost,
         (double)answered / took, answered ? latency_sum / (double)answered * 1000 : 0.0);
  free(queries);
  close(fd);
  return 0;
}
