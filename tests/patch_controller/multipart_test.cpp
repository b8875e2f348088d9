// SPDX-License-Identifier: Apache-2.0
// The streaming multipart/form-data reader behind the reference client's upload: bodies made
// by the real encoder (Debian's python3-requests-toolbelt, MultipartEncoder, as the reference
// client uses it), fed one byte at a time and in odd chunks, and hostile forms.
#include "http/multipart.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using patching::controller::MultipartError;
using patching::controller::MultipartFileReader;
using namespace patching::test;
namespace fs = std::filesystem;

namespace {

struct EncodedForm {
    std::string content_type;
    std::string body;
};

// MultipartEncoder(fields={...}) over `fields` ({name, filename or "" for a plain field,
// content file}): the body and Content-Type the reference client would send.
EncodedForm encode_with_toolbelt(const std::vector<std::tuple<std::string, std::string, fs::path>>& fields,
                                 const fs::path& out) {
    std::string items;
    for (const auto& [name, filename, content] : fields) {
        items += filename.empty() ? "('" + name + "', open('" + content.string() + "').read()),"
                                  : "('" + name + "', ('" + filename + "', open('" + content.string() + "', 'rb'))),";
    }
    const std::string script = "import sys\n"
                               "from requests_toolbelt import MultipartEncoder\n"
                               "enc = MultipartEncoder(fields=[" + items + "])\n"
                               "open(sys.argv[1], 'wb').write(enc.to_string())\n"
                               "print(enc.content_type, end='')\n";
    write_file(out.string() + ".py", script);
    std::string output;
    const int rc = run_command("/usr/bin/python3 " + out.string() + ".py " + out.string(), &output);
    INFO(output);
    REQUIRE(rc == 0);
    return {output, read_file(out)};
}

// A source over `body` that hands out at most `chunk` bytes per call.
MultipartFileReader::Source source_of(std::string body, std::size_t chunk) {
    auto pos = std::make_shared<std::size_t>(0);
    auto data = std::make_shared<std::string>(std::move(body));
    return [data, chunk, pos](char* buf, std::size_t len) {
        const std::size_t n = std::min({len, chunk, data->size() - *pos});
        std::copy_n(data->data() + *pos, n, buf);
        *pos += n;
        return n;
    };
}

// open() then read() to the end with a `read_size` buffer.
std::pair<std::string, std::string> read_all(MultipartFileReader& reader, std::size_t read_size = 4096) {
    std::string name = reader.open();
    std::string data;
    std::vector<char> buf(read_size);
    for (std::size_t n; (n = reader.read(buf.data(), buf.size())) > 0;) {
        data.append(buf.data(), n);
    }
    return {name, data};
}

std::string binary_content(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        // CR, LF and '-' often, so partial delimiters appear all over the content.
        static const char alphabet[] = {'\r', '\n', '-', '-', 'a', '\0', '\xff', 'B'};
        data[i] = alphabet[(i * 7 + i / 13) % sizeof alphabet];
    }
    return data;
}

const std::string BOUNDARY = "b0undary";
const std::string TYPE = "multipart/form-data; boundary=" + BOUNDARY;

std::string part(const std::string& disposition, const std::string& content) {
    return "--" + BOUNDARY + "\r\nContent-Disposition: form-data; " + disposition + "\r\n\r\n" + content + "\r\n";
}

}  // namespace

TEST_CASE("multipart: the reference encoder's upload, one byte at a time and in odd chunks", "[multipart]") {
    TempDir dir;
    const std::string content = binary_content(300000);
    write_file(dir.path() / "P.patch", content);
    const EncodedForm form =
        encode_with_toolbelt({{"file", "/home/sysadmin/X_22.12_PATCH_0001.patch", dir.path() / "P.patch"}},
                             dir.path() / "body");
    CHECK(form.content_type.rfind("multipart/form-data; boundary=", 0) == 0);
    CHECK(patching::controller::is_multipart_form(form.content_type));
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{1} << 20U}) {
        INFO("chunk " << chunk);
        MultipartFileReader reader(form.content_type, source_of(form.body, chunk));
        auto [name, data] = read_all(reader, chunk == 1 ? 3 : 65536);
        CHECK(name == "/home/sysadmin/X_22.12_PATCH_0001.patch");
        CHECK(data.size() == content.size());
        CHECK(data == content);
    }
}

TEST_CASE("multipart: other fields around the file are skipped", "[multipart]") {
    TempDir dir;
    write_file(dir.path() / "P.patch", "patch bytes");
    write_file(dir.path() / "note", "a note");
    const EncodedForm form = encode_with_toolbelt(
        {{"note", "", dir.path() / "note"}, {"file", "P.patch", dir.path() / "P.patch"}, {"after", "", dir.path() / "note"}},
        dir.path() / "body");
    MultipartFileReader reader(form.content_type, source_of(form.body, 1));
    auto [name, data] = read_all(reader);
    CHECK(name == "P.patch");
    CHECK(data == "patch bytes");
}

TEST_CASE("multipart: hostile and broken forms are refused", "[multipart][hostile]") {
    const std::string good = part("name=\"file\"; filename=\"P.patch\"", "data") + "--" + BOUNDARY + "--\r\n";

    SECTION("a boundary-less content type") {
        CHECK_THROWS_AS(MultipartFileReader("multipart/form-data", source_of(good, 1)), MultipartError);
    }
    SECTION("the missing final boundary") {
        const std::string body = part("name=\"file\"; filename=\"P.patch\"", "data and more");
        MultipartFileReader reader(TYPE, source_of(body, 1));
        CHECK_THROWS_WITH(read_all(reader), Catch::Contains("without its closing boundary"));
    }
    SECTION("a body cut inside the file") {
        MultipartFileReader reader(TYPE, source_of(good.substr(0, good.size() - 20), 3));
        CHECK_THROWS_AS(read_all(reader), MultipartError);
    }
    SECTION("a body cut after the file's delimiter, before the final one") {
        const std::string body = part("name=\"file\"; filename=\"P.patch\"", "data") + "--" + BOUNDARY;
        MultipartFileReader reader(TYPE, source_of(body, 1));
        CHECK_THROWS_WITH(read_all(reader), Catch::Contains("final boundary"));
    }
    SECTION("huge part headers, never ending") {
        std::string body = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Junk: " +
                           std::string(1U << 20U, 'x');
        MultipartFileReader reader(TYPE, source_of(body, 1000));
        CHECK_THROWS_WITH(reader.open(), Catch::Contains("headers are larger than 8 KiB"));
    }
    SECTION("huge part headers, ending") {
        std::string body = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Junk: " +
                           std::string(20000, 'x') + "\r\n\r\ndata\r\n--" + BOUNDARY + "--";
        MultipartFileReader reader(TYPE, source_of(body, 65536));
        CHECK_THROWS_WITH(reader.open(), Catch::Contains("headers are larger than 8 KiB"));
    }
    SECTION("several file parts") {
        const std::string body = part("name=\"file\"; filename=\"A.patch\"", "a") +
                                 part("name=\"file\"; filename=\"B.patch\"", "b") + "--" + BOUNDARY + "--\r\n";
        MultipartFileReader reader(TYPE, source_of(body, 1));
        CHECK_THROWS_WITH(read_all(reader), Catch::Contains("more than one \"file\" part"));
    }
    SECTION("no file part") {
        const std::string body = part("name=\"other\"; filename=\"A.patch\"", "a") + "--" + BOUNDARY + "--\r\n";
        MultipartFileReader reader(TYPE, source_of(body, 1));
        CHECK_THROWS_WITH(reader.open(), Catch::Contains("no \"file\" part"));
    }
    SECTION("a form of one empty part") {
        MultipartFileReader reader(TYPE, source_of("--" + BOUNDARY + "\r\n\r\n--" + BOUNDARY + "--\r\n", 1));
        CHECK_THROWS_WITH(reader.open(), Catch::Contains("no \"file\" part"));
    }
    SECTION("an empty form") {
        MultipartFileReader reader(TYPE, source_of("--" + BOUNDARY + "--\r\n", 1));
        CHECK_THROWS_WITH(reader.open(), Catch::Contains("no \"file\" part"));
    }
    SECTION("a large field before the file is not buffered") {
        const std::string body = part("name=\"big\"", std::string(1U << 20U, 'z')) + good;
        MultipartFileReader reader(TYPE, source_of(body, 4096));
        CHECK_THROWS_WITH(reader.open(), Catch::Contains("larger than 64 KiB"));
    }
    SECTION("no boundary at all: a preamble that never ends") {
        MultipartFileReader reader(TYPE, source_of(std::string(1U << 20U, 'p'), 4096));
        CHECK_THROWS_WITH(reader.open(), Catch::Contains("preamble is larger"));
    }
    SECTION("the well-formed one, for contrast, with a preamble and an epilogue") {
        MultipartFileReader reader(TYPE, source_of("preamble\r\n" + good + "epilogue", 1));
        auto [name, data] = read_all(reader);
        CHECK(name == "P.patch");
        CHECK(data == "data");
    }
}
