// SPDX-License-Identifier: Apache-2.0
#include "ossl_handles.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>
#include <ctime>

namespace patching::signing::detail {

std::string drain_openssl_errors() {
    std::string out;
    const char* data = nullptr;
    int flags = 0;
    while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
        std::array<char, 256> buf{};
        ERR_error_string_n(code, buf.data(), buf.size());
        if (!out.empty()) {
            out += "; ";
        }
        out += buf.data();
        if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
            out += " (";
            out += data;
            out += ")";
        }
    }
    return out;
}

void throw_openssl(const std::string& what) {
    std::string errors = drain_openssl_errors();
    throw Error(errors.empty() ? what : what + ": " + errors);
}

namespace {

// EVP_MD_fetch is comparatively expensive; the fetched object is immutable and thread-safe, so
// one instance per process is enough. It stays alive until exit on purpose.
const EVP_MD* fetch_md(const char* name) {
    EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
    if (md == nullptr) {
        throw_openssl(std::string("OpenSSL does not provide ") + name);
    }
    return md;
}

// strerror() is not thread-safe; the error category is.
std::string errno_text(int err) { return std::generic_category().message(err); }

}  // namespace

const EVP_MD* sha256_md() {
    static const EVP_MD* md = fetch_md("SHA256");
    return md;
}

const EVP_MD* md5_md() {
    static const EVP_MD* md = fetch_md("MD5");
    return md;
}

EVP_PKEY* pkey_of(const PrivateKey& key) {
    auto* p = static_cast<EVP_PKEY*>(key.native());
    if (p == nullptr) {
        throw Error("empty private key object");
    }
    return p;
}

X509* x509_of(const Certificate& cert) {
    auto* p = static_cast<X509*>(cert.native());
    if (p == nullptr) {
        throw Error("empty certificate object");
    }
    return p;
}

PrivateKey wrap_key(EvpPkeyPtr key) {
    return PrivateKey(std::shared_ptr<EVP_PKEY>(std::move(key)));
}

Certificate wrap_certificate(X509Ptr cert) {
    return Certificate(std::shared_ptr<X509>(std::move(cert)));
}

std::string bio_to_string(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || data == nullptr) {
        return {};
    }
    return std::string(data, static_cast<std::size_t>(len));
}

std::string read_small_file(const std::filesystem::path& path, const std::string& what) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw Error("cannot read " + what + " " + path.string() + ": " + errno_text(errno));
    }
    std::string data;
    std::array<char, 16384> buf{};
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int err = errno;
            ::close(fd);
            throw Error("cannot read " + what + " " + path.string() + ": " + errno_text(err));
        }
        if (n == 0) {
            break;
        }
        data.append(buf.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
}

void write_file_atomic(const std::filesystem::path& path, const std::string& data, unsigned mode) {
    std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
    std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
    auto fail = [&](const std::string& step, int err) {
        ::unlink(tmpl.c_str());
        throw Error("cannot write " + path.string() + " (" + step + "): " + errno_text(err));
    };
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
        throw Error("cannot write " + path.string() + ": " + errno_text(errno));
    }
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
        int err = errno;
        ::close(fd);
        fail("chmod", err);
    }
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int err = errno;
            ::close(fd);
            fail("write", err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int err = errno;
        ::close(fd);
        fail("fsync", err);
    }
    if (::close(fd) != 0) {
        fail("close", errno);
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        fail("rename", errno);
    }
}

std::string format_utc(std::chrono::system_clock::time_point tp) {
    std::time_t t = std::chrono::system_clock::to_time_t(tp);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::array<char, 64> buf{};
    std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return std::string(buf.data(), n);
}

}  // namespace patching::signing::detail
