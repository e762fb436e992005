// The CPU one system call costs on this machine, with nothing for the kernel to do: getppid(), and
// recv() on an empty non-blocking socket (EAGAIN). bench/server_kernel.sh prints it beside the
// servers' figures: a request's share of its system calls' entry and exit is what a completion
// design (one io_uring_enter for many sends, multishot receives) could save.
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void) {
  const int n = 1000000;
  double t0 = cpu_now();
  for (int i = 0; i < n; ++i) syscall(SYS_getppid);
  double t1 = cpu_now();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return 1;
  char buf[64];
  double t2 = cpu_now();
  for (int i = 0; i < n; ++i) (void)recv(sv[0], buf, sizeof buf, 0);
  double t3 = cpu_now();
  printf("%.3f %.3f\n", (t1 - t0) / n * 1e6, (t3 - t2) / n * 1e6);
  return 0;
}
