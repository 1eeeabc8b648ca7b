#pragma once
// The one place that includes Boost.Asio. g++ 12 in C++20 needs <utility> first (STACK-NOTES §3), and we never
// use Asio's coroutine support.
#include <utility>
#ifndef BOOST_ASIO_DISABLE_CO_AWAIT
#define BOOST_ASIO_DISABLE_CO_AWAIT
#endif
#include <boost/asio.hpp>
