/*
 * ptables-felix-relay: Felix's external dataplane driver in relay mode, as one static binary that
 * runs inside the calico-node container (which has no Node.js).
 *
 * Felix execs it with no arguments, its own environment, fd 3 = the pipe of ToDataplane frames and
 * fd 4 = the pipe for FromDataplane frames. The relay connects to the felix-proxy agent's Unix
 * socket and copies bytes fd 3 -> socket and socket -> fd 4, unchanged and without parsing, until
 * either side ends. Felix restarts itself (and with it the relay) whenever the relay exits.
 *
 * Socket: $PTABLES_RUN_DIR/felix.sock when PTABLES_RUN_DIR is set; otherwise the first of
 * /var/run/ptables/felix.sock and /var/run/calico/ptables/felix.sock that accepts a connection
 * (calico-node always mounts the host's /var/run/calico, so the Helm chart puts the agents' run
 * directory there). Connecting is retried once a second for PTABLES_RELAY_CONNECT_SECS (default 10).
 *
 * Exit codes:
 *   0  Felix closed fd 3 (after everything read from it was handed to felix-proxy), or SIGTERM/SIGINT;
 *      --help, --version, a successful --check or --install.
 *   1  the connection ended otherwise: felix-proxy closed it, a read or write failed, Felix closed fd 4;
 *      --install failed.
 *   2  refused to start: an unknown argument, a bad PTABLES_* value, or fd 3/fd 4 are not usable
 *      (not started by Felix).
 *   3  felix-proxy could not be reached within PTABLES_RELAY_CONNECT_SECS.
 *
 * Every message is one line on stderr starting with "ptables-felix-relay: "; Felix copies its
 * driver's stderr into its own log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef RELAY_VERSION
#define RELAY_VERSION "unknown"
#endif

#define PROG "ptables-felix-relay"
#define FELIX_IN 3  /* ToDataplane frames from Felix */
#define FELIX_OUT 4 /* FromDataplane frames to Felix */
#define BUF_SIZE (64 * 1024)
#define DEFAULT_CONNECT_SECS 10
#define MAX_CONNECT_SECS 3600
#define MAX_CANDIDATES 2

enum { EXIT_DONE = 0, EXIT_ENDED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static const char *const DEFAULT_RUN_DIRS[MAX_CANDIDATES] = {"/var/run/ptables", "/var/run/calico/ptables"};

static volatile sig_atomic_t stop_signal;
static sigset_t wait_mask; /* the mask ppoll waits with: SIGTERM and SIGINT deliverable */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char line[1024];
  int n = snprintf(line, sizeof line, PROG ": ");
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  /* One write, so the line is not interleaved with Felix's own output. */
  ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
  (void)ignored;
}

static void on_signal(int sig) { stop_signal = sig; }

/* SIGTERM/SIGINT are blocked except inside ppoll, so a stop request is never missed between a
 * check of stop_signal and the wait. SIGPIPE is ignored: a closed peer shows up as EPIPE. */
static void setup_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGINT);
}

static const char *signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

/* fds 0-2 must be taken before any socket is opened, or a socket could become "stderr". */
static void reserve_std_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF && open("/dev/null", O_RDWR) != fd) _exit(EXIT_USAGE);
  }
}

/* fd 3 must be readable and fd 4 writable: the pipes Felix passes (ExtraFiles). */
static void check_felix_fd(int fd, int want_write) {
  int fl = fcntl(fd, F_GETFL);
  if (fl == -1) {
    say("fd %d is not open: " PROG " must be started by Felix, which passes its pipes as fd 3 (to the driver) and fd 4 (from the driver)", fd);
    exit(EXIT_USAGE);
  }
  int mode = fl & O_ACCMODE;
  if (want_write ? mode == O_RDONLY : mode == O_WRONLY) {
    say("fd %d is not %s: " PROG " must be started by Felix, which passes its pipes as fd 3 (to the driver) and fd 4 (from the driver)", fd, want_write ? "writable" : "readable");
    exit(EXIT_USAGE);
  }
  if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
    say("fd %d: cannot make it non-blocking: %s", fd, strerror(errno));
    exit(EXIT_USAGE);
  }
}

/* Empty counts as unset, as for every PTABLES_* variable. */
static const char *env_value(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static int connect_secs(void) {
  const char *v = env_value("PTABLES_RELAY_CONNECT_SECS");
  if (!v) return DEFAULT_CONNECT_SECS;
  long n = 0;
  const char *d = v;
  while (*d >= '0' && *d <= '9' && n <= MAX_CONNECT_SECS) n = n * 10 + (*d++ - '0');
  if (*d || n > MAX_CONNECT_SECS) {
    say("invalid configuration: environment: PTABLES_RELAY_CONNECT_SECS: \"%s\" is not a whole number in 0..%d", v, MAX_CONNECT_SECS);
    exit(EXIT_USAGE);
  }
  return (int)n;
}

struct candidate {
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  int last_errno;
};

/* The felix.sock paths to try, in order. */
static int socket_candidates(struct candidate *c) {
  const char *run_dir = env_value("PTABLES_RUN_DIR");
  const char *dirs[MAX_CANDIDATES];
  int n = 0;
  if (run_dir) {
    if (run_dir[0] != '/') {
      say("invalid configuration: environment: PTABLES_RUN_DIR: \"%s\" is not an absolute path", run_dir);
      exit(EXIT_USAGE);
    }
    dirs[n++] = run_dir;
  } else {
    for (int i = 0; i < MAX_CANDIDATES; i++) dirs[n++] = DEFAULT_RUN_DIRS[i];
  }
  for (int i = 0; i < n; i++) {
    size_t len = strlen(dirs[i]);
    while (len > 1 && dirs[i][len - 1] == '/') len--;
    int w = snprintf(c[i].path, sizeof c[i].path, "%.*s/felix.sock", (int)len, dirs[i]);
    if (w < 0 || (size_t)w >= sizeof c[i].path) {
      say("invalid configuration: environment: PTABLES_RUN_DIR: \"%s\" is too long for a Unix socket path (%zu bytes at most)", dirs[i], sizeof c[i].path - sizeof "/felix.sock");
      exit(EXIT_USAGE);
    }
    c[i].last_errno = 0;
  }
  return n;
}

/* A connected, non-blocking socket, or -1 with errno set. */
static int connect_unix(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1) return -1;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, strlen(path) + 1);
  while (connect(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
    if (errno == EINTR) continue;
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

/*
 * Tries every candidate once a second until one accepts or `secs` have passed. While waiting it
 * watches fd 3 (when `watch_felix`): if Felix goes away or asks the relay to stop, there is no one
 * to relay for. Returns the socket and sets *chosen; on failure, the candidates' errors explain.
 */
static int connect_felix_sock(struct candidate *c, int n, int secs, int watch_felix, int *chosen) {
  for (int attempt = 0;; attempt++) {
    for (int i = 0; i < n; i++) {
      int fd = connect_unix(c[i].path);
      if (fd >= 0) {
        *chosen = i;
        return fd;
      }
      c[i].last_errno = errno;
    }
    if (attempt >= secs) return -1;
    struct pollfd p = {.fd = watch_felix ? FELIX_IN : -1, .events = 0};
    struct timespec one_second = {1, 0};
    int rc = ppoll(&p, 1, &one_second, &wait_mask);
    if (stop_signal) {
      say("stopping on %s before felix-proxy was reached", signal_name(stop_signal));
      exit(EXIT_DONE);
    }
    if (rc > 0 && (p.revents & (POLLHUP | POLLERR))) {
      say("Felix closed fd 3 before felix-proxy was reached");
      exit(EXIT_DONE);
    }
  }
}

static void report_unreachable(const struct candidate *c, int n, int secs) {
  char detail[768];
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    int w = snprintf(detail + off, sizeof detail - off, "%s%s (%s)", i ? ", " : "", c[i].path, strerror(c[i].last_errno));
    if (w < 0 || (size_t)w >= sizeof detail - off) break;
    off += (size_t)w;
  }
  if (secs > 0)
    say("cannot reach felix-proxy after %d s: %s; is the ptables agent running on this node?", secs, detail);
  else
    say("cannot reach felix-proxy: %s; is the ptables agent running on this node?", detail);
}

/* One direction of the relay: bytes read from `src` wait in `buf` until written to `dst`. */
struct stream {
  int src, dst;
  const char *src_name, *dst_name;
  char buf[BUF_SIZE];
  size_t off, len;
  int eof; /* src returned end of file */
  int hup; /* src reported hang-up or error: readable without waiting, so not polled while buf is busy */
  unsigned long long bytes;
  int err;           /* errno of a failed read or write */
  const char *where; /* "reading" or "writing" when err is set */
};

static struct stream to_proxy, to_felix;

/* Moves what it can without blocking. Returns 0, or -1 with s->err/where set. */
static int pump(struct stream *s, short src_revents) {
  if (src_revents & (POLLHUP | POLLERR)) s->hup = 1;
  int readable = (src_revents & POLLIN) || s->hup;
  for (;;) {
    if (s->len == 0) {
      if (s->eof || !readable) return 0;
      ssize_t n = read(s->src, s->buf, sizeof s->buf);
      if (n > 0) {
        s->off = 0;
        s->len = (size_t)n;
        readable = s->hup; /* after a hang-up, read on until EOF; otherwise wait for poll */
      } else if (n == 0) {
        s->eof = 1;
        return 0;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return 0;
      } else {
        s->err = errno;
        s->where = "reading";
        return -1;
      }
    }
    ssize_t w = write(s->dst, s->buf + s->off, s->len);
    if (w > 0) {
      s->off += (size_t)w;
      s->len -= (size_t)w;
      s->bytes += (unsigned long long)w;
    } else if (w == -1 && errno == EINTR) {
      continue;
    } else if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 0;
    } else {
      s->err = w == -1 ? errno : EIO;
      s->where = "writing";
      return -1;
    }
  }
}

__attribute__((noreturn)) static void finish(int code, const char *reason) {
  say("%s (relayed %llu bytes to felix-proxy, %llu bytes to Felix)", reason, to_proxy.bytes, to_felix.bytes);
  exit(code);
}

/* Felix closing fd 3 ends the relay cleanly, whatever happens after it. */
__attribute__((noreturn)) static void finish_felix_closed(int sock) {
  shutdown(sock, SHUT_WR);
  finish(EXIT_DONE, "Felix closed fd 3");
}

__attribute__((noreturn)) static void fail(struct stream *s, int sock) {
  if (to_proxy.eof) finish_felix_closed(sock);
  char reason[256];
  const char *name = s->err == EPIPE || s->err == ECONNRESET ? "closed by the other side" : strerror(s->err);
  if (s->where[0] == 'r')
    snprintf(reason, sizeof reason, "reading %s failed: %s", s->src_name, name);
  else
    snprintf(reason, sizeof reason, "writing %s failed: %s", s->dst_name, name);
  finish(EXIT_ENDED, reason);
}

__attribute__((noreturn)) static void relay(int sock) {
  to_proxy = (struct stream){.src = FELIX_IN, .dst = sock, .src_name = "fd 3", .dst_name = "felix.sock"};
  to_felix = (struct stream){.src = sock, .dst = FELIX_OUT, .src_name = "felix.sock", .dst_name = "fd 4"};
  short rev_in = 0, rev_sock = 0;
  for (;;) {
    if (pump(&to_proxy, rev_in) < 0) fail(&to_proxy, sock);
    if (pump(&to_felix, rev_sock) < 0) fail(&to_felix, sock);
    if (to_proxy.eof && to_proxy.len == 0) finish_felix_closed(sock);
    if (to_felix.eof && to_felix.len == 0) finish(EXIT_ENDED, "felix-proxy closed the connection");

    struct pollfd p[3];
    int in_idle = to_proxy.eof || (to_proxy.hup && to_proxy.len > 0);
    p[0] = (struct pollfd){.fd = in_idle ? -1 : FELIX_IN, .events = to_proxy.len == 0 ? POLLIN : 0};
    short sock_events = (short)((to_felix.len == 0 && !to_felix.eof ? POLLIN : 0) | (to_proxy.len > 0 ? POLLOUT : 0));
    int sock_idle = to_felix.hup && to_felix.len > 0 && to_proxy.len == 0;
    p[1] = (struct pollfd){.fd = sock_idle ? -1 : sock, .events = sock_events};
    /* Always watched: POLLERR/POLLHUP on fd 4 means Felix closed its end. */
    p[2] = (struct pollfd){.fd = FELIX_OUT, .events = to_felix.len > 0 ? POLLOUT : 0};
    int rc = ppoll(p, 3, NULL, &wait_mask);
    if (stop_signal) {
      char reason[64];
      snprintf(reason, sizeof reason, "stopping on %s", signal_name(stop_signal));
      finish(EXIT_DONE, reason);
    }
    if (rc == -1) {
      if (errno == EINTR) continue;
      char reason[128];
      snprintf(reason, sizeof reason, "poll failed: %s", strerror(errno));
      finish(EXIT_ENDED, reason);
    }
    if ((p[2].revents & (POLLERR | POLLHUP | POLLNVAL)) && to_felix.len == 0) {
      if (to_proxy.eof) finish_felix_closed(sock);
      finish(EXIT_ENDED, "Felix closed fd 4");
    }
    rev_in = p[0].revents;
    rev_sock = p[1].revents;
  }
}

/* --install DIR: copy this executable to DIR/ptables-felix-relay atomically (write a temporary file,
 * then rename), so a Felix that is exec'ing the old file never sees a partial one. */
static int install(const char *dir) {
  char tmp[PATH_MAX], dest[PATH_MAX];
  if (snprintf(dest, sizeof dest, "%s/" PROG, dir) >= (int)sizeof dest || snprintf(tmp, sizeof tmp, "%s/." PROG ".XXXXXX", dir) >= (int)sizeof tmp) {
    say("install: %s: path too long", dir);
    return EXIT_ENDED;
  }
  int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (in == -1) {
    say("install: cannot open /proc/self/exe: %s", strerror(errno));
    return EXIT_ENDED;
  }
  int out = mkostemp(tmp, O_CLOEXEC);
  if (out == -1) {
    say("install: cannot create a file in %s: %s", dir, strerror(errno));
    close(in);
    return EXIT_ENDED;
  }
  static char buf[BUF_SIZE];
  ssize_t n;
  int err = 0;
  while (!err && (n = read(in, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno != EINTR) err = errno;
      continue;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        err = errno;
        break;
      }
      off += w;
    }
  }
  close(in);
  if (!err && fchmod(out, 0755) == -1) err = errno;
  if (!err && fsync(out) == -1) err = errno;
  if (close(out) == -1 && !err) err = errno;
  if (!err && rename(tmp, dest) == -1) err = errno;
  if (err) {
    unlink(tmp);
    say("install: %s: %s", dest, strerror(err));
    return EXIT_ENDED;
  }
  say("installed %s (version %s)", dest, RELAY_VERSION);
  return EXIT_DONE;
}

static void usage(FILE *to) {
  fprintf(to,
          "Usage: " PROG "                 (as Felix's dataplane driver: fd 3 and fd 4 are Felix's pipes)\n"
          "       " PROG " --check         connect to felix.sock once and report whether felix-proxy listens\n"
          "       " PROG " --install DIR   copy this executable to DIR/" PROG "\n"
          "       " PROG " --version | --help\n"
          "\n"
          "Environment: PTABLES_RUN_DIR (default: try /var/run/ptables, then /var/run/calico/ptables),\n"
          "             PTABLES_RELAY_CONNECT_SECS (default %d; 0..%d)\n"
          "Exit codes: 0 Felix closed fd 3 or a stop signal; 1 the connection ended otherwise;\n"
          "            2 refused to start; 3 felix-proxy not reachable.\n",
          DEFAULT_CONNECT_SECS, MAX_CONNECT_SECS);
}

int main(int argc, char **argv) {
  reserve_std_fds();
  if (argc > 1) {
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
      usage(stdout);
      return EXIT_DONE;
    }
    if (argc == 2 && !strcmp(argv[1], "--version")) {
      printf(PROG " %s\n", RELAY_VERSION);
      return EXIT_DONE;
    }
    if (argc == 3 && !strcmp(argv[1], "--install")) return install(argv[2]);
    if (argc != 2 || strcmp(argv[1], "--check") != 0) {
      say("unexpected argument \"%s\" (Felix starts the driver without arguments; see --help)", argv[1]);
      return EXIT_USAGE;
    }
  }
  int check = argc == 2;
  setup_signals();
  struct candidate c[MAX_CANDIDATES];
  int n = socket_candidates(c);
  int secs = check ? 0 : connect_secs();
  if (!check) {
    check_felix_fd(FELIX_IN, 0);
    check_felix_fd(FELIX_OUT, 1);
  }
  int chosen = 0;
  int sock = connect_felix_sock(c, n, secs, !check, &chosen);
  if (sock == -1) {
    report_unreachable(c, n, secs);
    return EXIT_UNREACHABLE;
  }
  if (check) {
    /* Closing without sending a byte is what felix-proxy treats as a liveness probe. */
    close(sock);
    printf("felix-proxy is listening at %s\n", c[chosen].path);
    return EXIT_DONE;
  }
  say("relaying Felix's stream to %s (version %s)", c[chosen].path, RELAY_VERSION);
  relay(sock);
}
