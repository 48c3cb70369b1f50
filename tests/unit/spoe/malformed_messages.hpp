#pragma once
// Malformed LIST-OF-MESSAGES payloads (SPOP-REFERENCE.md, pitfall 10):
// lengths past the payload end, truncated and overlong varints, reserved
// types. The codec test reads each alone; the server test sends each after
// a message that decodes.
#include <array>

inline constexpr std::array<const char*, 11> kMalformedMessages = {
    "0a 68 61 65 73",                                      // message name cut short
    "01 6d",                                               // no NB-ARGS byte
    "01 6d 01",                                            // announced argument missing
    "01 6d 01 01 61 08 05 61 62",                          // string length 5, 2 bytes left
    "01 6d 01 01 61 08 ff ff ff ff ff ff ff ff ff ff 00",  // overlong length
    "01 6d 01 01 61 04 f0",                                // truncated integer varint
    "01 6d 01 01 61 06 7f 00",                             // IPv4 with 2 bytes
    "01 6d 01 01 61 07 00 00 00 00",                       // IPv6 with 4 bytes
    "01 6d 01 01 61 0a",                                   // reserved type 10
    "01 6d 01 01 61 0f",                                   // reserved type 15
    "01 6d 01 fc 03 61",                                   // argument name longer than the payload
};
