#pragma once

// Example instances of JSON Schemas: a document meant to satisfy a schema,
// derived deterministically from a seed. The mock adapter fabricates its
// JSON outputs with it; simulations and the dashboard can show what a
// schema's documents look like.

#include "contracts/json.hpp"

#include <string_view>

namespace omniva::contracts {

/// Returns a document meant to satisfy `schema` (JSON Schema 2020-12), for
/// the common keywords: `type`, `properties`, `required`, `items`,
/// `prefixItems`, `minItems`, `enum`, `const`, `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minLength`,
/// `maxLength`, `pattern` (by trying candidates), `format` (uuid, date-time,
/// date, time, email, uri, hostname, ipv4, ipv6, duration), `allOf` (all
/// merged), `anyOf`/`oneOf` (the first alternative), `if`/`then` (`then`
/// applied as if `if` held), `$ref` within the schema ("#/$defs/x") and to
/// shipped schemas by file name ("ClipCandidate.json"). Free strings derive
/// from `seed` when it is not empty: the same schema and seed give the same
/// document. Not a solver: validate the result before trusting it. Pure;
/// thread-safe.
json::value example_instance(const json::value& schema,
                             std::string_view seed = {});

} // namespace omniva::contracts
