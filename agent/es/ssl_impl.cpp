// Asio's SSL support, compiled once (Asio is built with
// BOOST_ASIO_SEPARATE_COMPILATION: see spoe/src/asio_impl.cpp).
#include <boost/asio/ssl/impl/src.hpp>
