// Being written this session (issue 14): installs no route yet.
#include "runtime/api_routes.hpp"

namespace omniva::runtime::api {

void install_pool_routes(http_server&, const context_ptr&) {
}

} // namespace omniva::runtime::api
