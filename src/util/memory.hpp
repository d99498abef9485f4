// How much memory a new allocation can take without swapping.
#pragma once

#include <cstddef>

namespace recsys {

// MemAvailable from /proc/meminfo in bytes: free memory plus the page cache
// and slabs the kernel can reclaim. Free memory alone (sysconf's
// _SC_AVPHYS_PAGES) shrinks whenever files are read, such as the database
// itself, though that cache is released on demand. Falls back to the free
// pages when /proc/meminfo has no such line.
std::size_t available_memory();

}  // namespace recsys
