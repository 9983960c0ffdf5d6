// A test backend that proves the seam (backend.h) holds: the CPU ops on memory that host code cannot touch. Every
// allocation is its own mapping, kept PROT_NONE except while one of the table's functions runs, so any host-side
// read or write of backend memory outside the table (a loop or memcpy left in the model code) is a segfault.
#pragma once

#include "../engine/backend.h"

namespace tessera {
namespace test {

const Backend& guardedBackend();
const Backend& guardedBf16Backend();
// Live allocations (the test checks that a model frees what it allocated).
int64_t guardedLiveAllocations();

}  // namespace test
}  // namespace tessera
