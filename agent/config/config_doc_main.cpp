// haes-config-doc: prints the configuration reference (docs/config.md).
#include <iostream>

#include "config/config.hpp"

int main() {
  std::cout << haes::config_reference_markdown();
  return 0;
}
