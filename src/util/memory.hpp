// How much memory a new allocation can take without swapping, and how large
// arrays read at random are backed.
#pragma once

#include <cstddef>

namespace recsys {

// MemAvailable from /proc/meminfo in bytes: free memory plus the page cache
// and slabs the kernel can reclaim. Free memory alone (sysconf's
// _SC_AVPHYS_PAGES) shrinks whenever files are read, such as the database
// itself, though that cache is released on demand. Falls back to the free
// pages when /proc/meminfo has no such line.
std::size_t available_memory();

// Asks the kernel to back the 2 MiB-aligned part of [data, data + bytes) with
// transparent huge pages (madvise MADV_HUGEPAGE), for arrays read at random
// rows, such as the factors one ALS half-step gathers from: with 4 KiB pages
// nearly every row read of a 36 MiB matrix misses the TLB. Call it before the
// memory is first written: pages already there are collapsed only later by
// khugepaged (as for a block malloc reuses from its heap). A hint: where the
// kernel refuses (THP "never", no support) or the range holds no whole huge
// page, nothing changes.
void advise_huge_pages(void* data, std::size_t bytes);

}  // namespace recsys
