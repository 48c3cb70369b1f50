// Asio compiled once for the whole project (STYLE.md §12): every target that
// uses Asio links haes_asio and sees BOOST_ASIO_SEPARATE_COMPILATION.
#include <utility>

#include <boost/asio/impl/src.hpp>
