// Beast's non-template code and its HTTP parser (basic_parser<true/false>),
// compiled once for the component: every file of haes_es sees
// BOOST_BEAST_SEPARATE_COMPILATION (CMakeLists.txt), so client_plain.cpp and
// client_tls.cpp instantiate only the I/O templates they use.
#include <utility>

#include <boost/beast/src.hpp>
