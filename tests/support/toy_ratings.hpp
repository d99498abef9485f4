// A toy rating file for command-line tests: six users over six items, of which
// a, b and c are rated most (so they lead the popularity fallback).
#pragma once

namespace recsys::test {

inline constexpr const char* kToyRatings =
    "user,item,rating\n"
    "u1,a,5\nu1,b,4\nu1,d,2\n"
    "u2,a,4\nu2,c,5\nu2,e,1\n"
    "u3,b,3\nu3,c,4\nu3,f,2\n"
    "u4,a,2\nu4,b,5\nu4,c,3\n"
    "u5,a,1\nu5,d,4\n"
    "u6,b,2\nu6,c,1\nu6,e,4\n";

}  // namespace recsys::test
