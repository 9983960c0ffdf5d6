// Round trip of one cache line between the first two CPUs this process may run on, in ns (best of 5 batches of
// 20000). The engine bench prints it before each engine row: on a shared host the two vCPUs of a VM can sit on one
// core complex (tens of ns here) or far apart (hundreds), and two-thread rates follow that, while a one-CPU peak
// probe does not see it.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static _Atomic int ball __attribute__((aligned(64)));
static int cpus[2];
enum { kTrips = 20000 };

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void* partner(void* unused) {
  (void)unused;
  pin(cpus[1]);
  for (int batch = 0; batch < 5; batch++)
    for (int i = 0; i < kTrips; i++) {
      while (atomic_load_explicit(&ball, memory_order_acquire) != 1) {
      }
      atomic_store_explicit(&ball, 0, memory_order_release);
    }
  return NULL;
}

int main(void) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 1;
  int found = 0;
  for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
    if (CPU_ISSET(c, &allowed)) cpus[found++] = c;
  if (found < 2) {
    fprintf(stderr, "one CPU only\n");
    return 2;
  }
  pin(cpus[0]);
  pthread_t t;
  pthread_create(&t, NULL, partner, NULL);
  double best = 1e30;
  for (int batch = 0; batch < 5; batch++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < kTrips; i++) {
      atomic_store_explicit(&ball, 1, memory_order_release);
      while (atomic_load_explicit(&ball, memory_order_acquire) != 0) {
      }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    const double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / kTrips;
    if (ns < best) best = ns;
  }
  pthread_join(t, NULL);
  printf("%.0f\n", best);
  return 0;
}
