// SPDX-License-Identifier: Apache-2.0
// Every route of the route table is in the OpenAPI document, and the document is OpenAPI 3.1.
#include "patch_controller/service_fixture.hpp"

#include <api/auth.hpp>
#include <api/openapi.hpp>
#include <api/routes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace patching;
using namespace patching::test;

TEST_CASE_METHOD(ServiceFixture, "api: the OpenAPI document covers every route of the route table", "[api][openapi]") {
    config.local_token_file = dir.path() / "admin.token";
    config.tokens_file = dir.path() / "tokens";
    controller::Authenticator auth(config);
    controller::ApiRoutes routes(config, ctl(), auth);
    const auto missing = controller::undocumented_routes(routes.routes());
    INFO("undocumented routes: " << nlohmann::json(missing).dump());
    CHECK(missing.empty());
    const auto doc = nlohmann::json::parse(controller::openapi_document(routes.routes()));
    CHECK(doc["openapi"] == "3.1.0");
    CHECK(doc["paths"].contains("/v1/host-installs"));
    CHECK(doc["paths"]["/v1/host-installs"].contains("post"));
    CHECK(doc["paths"]["/v1/groups/{name}"].contains("delete"));
    CHECK(doc["paths"]["/v1/apply/{ids}"]["post"]["x-role"] == "admin");
    CHECK(doc["paths"]["/v1/work-requests/{id}"]["get"]["parameters"][0]["name"] == "id");
    // Every route key appears as an operation.
    std::size_t operations = 0;
    for (const auto& [path, item] : doc["paths"].items()) {
        operations += item.size();
    }
    CHECK(operations >= routes.routes().size());
}
