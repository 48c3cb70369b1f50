#pragma once
// Frames captured from Debian 12's HAProxy 2.6.12 by golden/capture.py
// (4-byte LENGTH included). Spaced hex; '#' starts a comment.

namespace golden {

// HAPROXY-HELLO of a regular SPOP connection.
inline constexpr const char* kHaproxyHello = R"(
  00 00 00 81                                    # LENGTH 129
  01  00 00 00 01  00 00                         # HAPROXY-HELLO, FIN, sid 0, fid 0
  12 73 75 70 70 6f 72 74 65 64 2d 76 65 72 73 69 6f 6e 73   # "supported-versions"
     08 03 32 2e 30                                          #   STRING "2.0"
  0e 6d 61 78 2d 66 72 61 6d 65 2d 73 69 7a 65               # "max-frame-size"
     03 fc f0 06                                             #   UINT32 16380
  0c 63 61 70 61 62 69 6c 69 74 69 65 73                     # "capabilities"
     08 10 70 69 70 65 6c 69 6e 69 6e 67 2c 61 73 79 6e 63   #   STRING "pipelining,async"
  09 65 6e 67 69 6e 65 2d 69 64                              # "engine-id"
     08 24 62 33 36 37 39 66 34 66 2d 61 34 36 63 2d 34 30 65 31 2d 61 37 39 65
           2d 30 35 62 30 35 38 65 35 38 62 31 66            #   STRING uuid
)";

// HAPROXY-HELLO of `option spop-check`: empty capabilities, no engine-id.
inline constexpr const char* kHealthcheckHello = R"(
  00 00 00 4e
  01  00 00 00 01  00 00
  12 73 75 70 70 6f 72 74 65 64 2d 76 65 72 73 69 6f 6e 73  08 03 32 2e 30
  0e 6d 61 78 2d 66 72 61 6d 65 2d 73 69 7a 65  03 fc f0 06
  0c 63 61 70 61 62 69 6c 69 74 69 65 73  08 00                 # STRING ""
  0b 68 65 61 6c 74 68 63 68 65 63 6b  11                       # "healthcheck" BOOL true
)";

// NOTIFY for one request: message haes-route with an argument of every type.
inline constexpr const char* kNotify = R"(
  00 00 00 7b
  03  00 00 00 01  00 01                         # NOTIFY, FIN, sid 0, fid 1
  0a 68 61 65 73 2d 72 6f 75 74 65  0b           # "haes-route", 11 args
  07 63 6c 75 73 74 65 72  08 03 64 63 31        # cluster = STRING "dc1"
  04 6e 6f 64 65  08 03 65 73 31                 # node = STRING "es1"
  01 6e  04 ff f0 fe fe fe fe fe fe fe 0e        # n = INT64 -1 (10-byte varint)
  03 62 69 67  04 fc 03                          # big = INT64 300
  02 6f 6b  11                                   # ok = BOOL true
  02 6e 6f  01                                   # no = BOOL false
  02 76 34  06 c0 a8 01 0a                       # v4 = IPV4 192.168.1.10
  02 76 36  07 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01   # v6 = IPV6 2001:db8::1
  03 62 69 6e  09 04 de ad be ef                 # bin = BINARY de ad be ef
  07 6d 69 73 73 69 6e 67  00                    # missing = NULL (sample not found)
  00  08 03 47 45 54                             # unnamed = STRING "GET"
)";

// HAPROXY-DISCONNECT after `timeout idle`.
inline constexpr const char* kHaproxyDisconnect = R"(
  00 00 00 31
  02  00 00 00 01  00 00
  0b 73 74 61 74 75 73 2d 63 6f 64 65  03 02     # status-code = UINT32 2
  07 6d 65 73 73 61 67 65  08 12 61 20 74 69 6d 65 6f 75 74 20 6f 63 63 75 72 72 65 64
                                                 # message = "a timeout occurred"
)";

// HAProxy 3.1+ spop-check request (SPOP-REFERENCE.md §1.5, src/tcpcheck.c).
inline constexpr const char* kHealthcheckHello31 = R"(
  00 00 00 4e  01 00 00 00 01 00 00
  12 73 75 70 70 6f 72 74 65 64 2d 76 65 72 73 69 6f 6e 73  08 03 32 2e 30
  0e 6d 61 78 2d 66 72 61 6d 65 2d 73 69 7a 65  03 fc f0 06
  0c 63 61 70 61 62 69 6c 69 74 69 65 73  08 00
  0b 68 65 61 6c 74 68 63 68 65 63 6b  11
)";

// Minimal valid AGENT-HELLO (reg-tests/checks/spop-check.vtc).
inline constexpr const char* kMinimalAgentHello = R"(
  00 00 00 36  65 00 00 00 01 00 00
  07 76 65 72 73 69 6f 6e  08 03 32 2e 30
  0e 6d 61 78 2d 66 72 61 6d 65 2d 73 69 7a 65  03 fc f0 06
  0c 63 61 70 61 62 69 6c 69 74 69 65 73  08 00
)";

}  // namespace golden
