/*
 * LD_PRELOAD library that makes a process see a CPU without AVX-512, for the benchmarks' AVX2-only rows.
 *
 * Libraries that pick kernels by CPUID and have no switch (onnxruntime's MLAS, for one) can only be held to
 * AVX2 by changing what CPUID answers. Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID, CPU flag
 * cpuid_fault) turns every CPUID instruction of this thread, and of every thread it creates, into SIGSEGV;
 * the handler below runs the real instruction, clears the AVX-512 bits (and the AVX-512 state bits of leaf
 * 0xD) and steps over it. XGETBV cannot be trapped, so code that checks only the OS-enabled state still sees
 * ZMM state; every library we measure checks the CPUID feature bits too. glibc's own choice is made in ld.so
 * before this runs: set GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,... beside it.
 *
 * Node resets every signal handler at start-up and V8 installs its own SIGSEGV handler, so sigaction() for
 * SIGSEGV is answered from a copy kept here while this handler stays installed and forwards every other
 * fault to whatever the process asked for.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define ARCH_SET_CPUID 0x1012

typedef int (*SigactionFn)(int, const struct sigaction *, struct sigaction *);
static SigactionFn realSigaction;
static struct sigaction processAction; /* the process's own SIGSEGV disposition */

static void clearAvx512Bits(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
  if (leaf == 7 && subleaf == 0) {
    /* EBX: F, DQ, IFMA, PF, ER, CD, BW, VL */
    r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) |
              (1u << 31));
    /* ECX: VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    /* EDX: 4VNNIW, 4FMAPS, VP2INTERSECT, AMX-BF16, FP16, AMX-TILE, AMX-INT8 */
    r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
  } else if (leaf == 7 && subleaf == 1) {
    r[0] &= ~(1u << 5); /* AVX512_BF16 */
  } else if (leaf == 0xD && subleaf == 0) {
    r[0] &= ~((1u << 5) | (1u << 6) | (1u << 7) | (1u << 17) | (1u << 18)); /* opmask, ZMM, AMX state */
  }
}

static void onSegv(int sig, siginfo_t *info, void *context) {
  greg_t *regs = ((ucontext_t *)context)->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)regs[REG_RIP];
  if (info->si_code == SI_KERNEL && ip[0] == 0x0F && ip[1] == 0xA2) {
    uint32_t leaf = (uint32_t)regs[REG_RAX], subleaf = (uint32_t)regs[REG_RCX], r[4];
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
    __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
    clearAvx512Bits(leaf, subleaf, r);
    regs[REG_RAX] = r[0];
    regs[REG_RBX] = r[1];
    regs[REG_RCX] = r[2];
    regs[REG_RDX] = r[3];
    regs[REG_RIP] += 2;
    return;
  }
  /* Not a CPUID: the process's handler decides; with none, the default action (sent signals included). */
  if ((processAction.sa_flags & SA_SIGINFO) && processAction.sa_sigaction) {
    processAction.sa_sigaction(sig, info, context);
  } else if (processAction.sa_handler != SIG_DFL && processAction.sa_handler != SIG_IGN) {
    processAction.sa_handler(sig);
  } else {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    realSigaction(SIGSEGV, &dfl, NULL);
    raise(sig);
  }
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!realSigaction) realSigaction = (SigactionFn)dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV) return realSigaction(sig, act, old);
  if (old) *old = processAction;
  if (act) processAction = *act;
  return 0;
}

__attribute__((constructor)) static void holdToAvx2(void) {
  realSigaction = (SigactionFn)dlsym(RTLD_NEXT, "sigaction");
  processAction.sa_handler = SIG_DFL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = onSegv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  realSigaction(SIGSEGV, &sa, NULL);
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
}
