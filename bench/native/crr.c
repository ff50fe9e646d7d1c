/*
 * crr: new-TCP-connection rate (netperf's TCP_CRR shape): connect, send a 64-byte request,
 * read the 64-byte response, close; repeat. Used the same way for every dataplane measured.
 *
 *   crr server <port> <workers>
 *       accept loop in <workers> processes sharing one listening socket; each connection:
 *       read the request, write the response, close.
 *   crr client <ipv4> <port> <seconds> <concurrency>
 *       <concurrency> processes loop until the deadline; prints one JSON line:
 *       {"connections":N,"errors":E,"seconds":S,"rate":R,"p50_us":..,"p99_us":..}
 *
 * Each client socket has 2 s send/receive timeouts (connect honours SO_SNDTIMEO), so a dropped
 * SYN shows up as an error, not a hang. Built by the bench with `cc -O2`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define HIST_BUCKETS 4096 /* 10 us buckets up to ~41 ms, last bucket catches the rest */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_full(int fd, char *buf, int n) {
  int got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += r;
  }
  return 0;
}

static int server(int port, int workers) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY};
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4096) < 0) {
    perror("bind/listen");
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  signal(SIGPIPE, SIG_IGN);
  for (int w = 1; w < workers; w++) {
    if (fork() == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the server the bench started */
      break;
    }
  }
  char buf[MSG];
  memset(buf, 'r', sizeof buf);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    if (read_full(c, buf, MSG) == 0) {
      ssize_t w = write(c, buf, MSG);
      (void)w;
    }
    close(c);
  }
}

struct result {
  uint64_t ok, errors;
  uint32_t hist[HIST_BUCKETS];
};

static void client_loop(const char *ip, int port, double deadline, struct result *r) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  struct timeval tv = {.tv_sec = 2};
  char buf[MSG];
  memset(buf, 'q', sizeof buf);
  while (now_s() < deadline) {
    double t0 = now_s();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
      r->errors++;
      usleep(1000);
      continue;
    }
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0 && write(s, buf, MSG) == MSG && read_full(s, buf, MSG) == 0;
    close(s);
    if (!ok) {
      r->errors++;
      continue;
    }
    r->ok++;
    long us = (long)((now_s() - t0) * 1e6);
    long b = us / 10;
    r->hist[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
  }
}

static double pct(const uint32_t *h, uint64_t total, double p) {
  uint64_t want = (uint64_t)(p * total), seen = 0;
  for (int i = 0; i < HIST_BUCKETS; i++) {
    seen += h[i];
    if (seen > want) return i * 10.0 + 5;
  }
  return HIST_BUCKETS * 10.0;
}

static int client(const char *ip, int port, double seconds, int conc) {
  signal(SIGPIPE, SIG_IGN);
  int fds[256][2];
  if (conc < 1 || conc > 256) conc = 1;
  double start = now_s(), deadline = start + seconds;
  for (int i = 0; i < conc; i++) {
    if (pipe(fds[i]) < 0) return 1;
    if (fork() == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      static struct result r;
      client_loop(ip, port, deadline, &r);
      ssize_t w = write(fds[i][1], &r, sizeof r);
      (void)w;
      _exit(0);
    }
    close(fds[i][1]);
  }
  static struct result total, one;
  for (int i = 0; i < conc; i++) {
    if (read_full(fds[i][0], (char *)&one, sizeof one) == 0) {
      total.ok += one.ok;
      total.errors += one.errors;
      for (int b = 0; b < HIST_BUCKETS; b++) total.hist[b] += one.hist[b];
    }
  }
  while (wait(NULL) > 0) {
  }
  double elapsed = now_s() - start;
  printf("{\"connections\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"rate\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
         (unsigned long long)total.ok, (unsigned long long)total.errors, elapsed, total.ok / elapsed,
         pct(total.hist, total.ok, 0.5), pct(total.hist, total.ok, 0.99));
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "server") == 0) return server(atoi(argv[2]), atoi(argv[3]));
  if (argc >= 6 && strcmp(argv[1], "client") == 0) return client(argv[2], atoi(argv[3]), atof(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: crr server <port> <workers> | crr client <ip> <port> <seconds> <concurrency>\n");
  return 2;
}
