#include "fetch/digest.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "core/error.h"

namespace tinyptq::fetch {

namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

MdCtx new_ctx(const EVP_MD* md, const std::string& path) {
  MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
    throw Error("'" + path + "': cannot initialise a message digest (OpenSSL)");
  return ctx;
}

std::string finish_hex(EVP_MD_CTX* ctx, const std::string& path) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx, out, &n) != 1) throw Error("'" + path + "': message digest failed (OpenSSL)");
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int k = 0; k < n; ++k) hex += kHex[out[k] >> 4], hex += kHex[out[k] & 15];
  return hex;
}

}  // namespace

FileDigests digest_file(const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error("cannot open '" + path + "' to verify it");
  MdCtx sha = new_ctx(EVP_sha256(), path), md5 = new_ctx(EVP_md5(), path);
  FileDigests d;
  std::vector<unsigned char> buf(1 << 16);
  for (;;) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n > 0) {
      EVP_DigestUpdate(sha.get(), buf.data(), n);
      EVP_DigestUpdate(md5.get(), buf.data(), n);
      d.bytes += int64_t(n);
    }
    if (n < buf.size()) break;
  }
  if (std::ferror(f.get())) throw Error("cannot read '" + path + "' to verify it");
  d.sha256 = finish_hex(sha.get(), path);
  d.md5 = finish_hex(md5.get(), path);
  return d;
}

void verify_artifact(const std::string& path, const Artifact& a) {
  if (a.sha256.empty() && a.md5.empty())
    throw Error("fetch: " + a.file_name + " has no pinned checksum; refusing to use it unverified");
  const FileDigests d = digest_file(path);
  const std::string what = "'" + path + "' (" + a.file_name + ")";
  if (a.size >= 0 && d.bytes != a.size)
    throw Error(what + " has " + std::to_string(d.bytes) + " bytes, expected " + std::to_string(a.size));
  if (!a.sha256.empty() && d.sha256 != a.sha256)
    throw Error(what + " failed verification: sha256 " + d.sha256 + ", expected " + a.sha256);
  if (!a.md5.empty() && d.md5 != a.md5)
    throw Error(what + " failed verification: md5 " + d.md5 + ", expected " + a.md5);
}

}  // namespace tinyptq::fetch
