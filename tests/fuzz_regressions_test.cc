// Inputs that once crashed, hung or misbehaved in a parser (found by the fuzz targets in fuzz/ or by the
// hostile-input review), kept inline as bytes so each stays fixed, plus the complexity guarantee of
// Graph::validate_and_sort (a stable Kahn sort; the earlier fixpoint sweep was quadratic).
#include <archive.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "../fuzz/keras_fixture.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "data/calibration.h"
#include "data/npy.h"
#include "ir/graph.h"
#include "keras/keras_import.h"
#include "keras/model_config.h"
#include "test_util.h"

namespace tinyptq {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Inputs found by fuzz_keras are stored gzip-compressed and base64-encoded (they are mostly HDF5 padding).
std::string unpack(const char* base64) {
  const std::string b64(base64);
  std::string gz(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(gz.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), int(b64.size()));
  if (n < 0) throw std::runtime_error("bad base64");
  gz.resize(size_t(n) - (b64.size() >= 2 && b64[b64.size() - 1] == '=') - (b64.size() >= 2 && b64[b64.size() - 2] == '='));
  struct archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  std::string out;
  struct archive_entry* e = nullptr;
  if (archive_read_open_memory(a, gz.data(), gz.size()) == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char buf[8192];
    for (la_ssize_t k; (k = archive_read_data(a, buf, sizeof buf)) > 0;) out.append(buf, size_t(k));
  }
  archive_read_free(a);
  return out;
}

// 32983 bytes, gzip + base64
const char* const kHdf5HugeAllocation =
    "H4sIAAAAAAACA+1bTUwbRxSeNU6ypaSB1hVu1YatIjVGlQoJ0FIaNC6KE6NUCUkqlUqRsAkbbIE3gPlxkkNziZSe0mPaU6X24BNnjiin"
    "HFopt3BMbkjtIZdWuVF7543ZWWyzsQ140fcdMnmzT7vL+Jt535ud91P8/IXjrR+2siJ0nQVZO3Nii9B+T7Xl9QS1GrUPqc0HZH/Qvham"
    "/na6v9Ei7DXx78kjPLR6jBf+y288CvBK9vxwK//rzzbefeMEf/B3B395N8SHWzv5r798wP+LfMSvrZ3kqxc/4a3PT/Fbtz7lT/6N8K4H"
    "n/F7oc/58997eV9fH3/0ZID/c3WQx18O8T/mhgvPiBaeMfLGz6r3XZ3+DAAAAFCgsaMismjSFnFE00RHkPxk21K4XrzSYXRRn8E6ddb5"
    "I10/wnT7eiAQsG+g0/1aND0i45MT7xY85ONXR9+aYSx3oOPRQe+X+FjY97vAEf8hHvtmrNiOM5Vz8bOq36Slaqt43bNJU7SYZNNTeu5m"
    "v2i/uxaLFb23XJD3WftStBH8lOBvAVFq9QHVbzqZySSHetmkuVhsWOb2ctqansiYSatoSns5uZBOWjdNu8/J97DrudcvXzlfZLBO9m9n"
    "VX83j4GDjqphX0RVwStH5vtVdX/Jv/wX1f1KOe9QdT+5jhpfg1feeBXxBa/2bzwGMR7KeMR9peZ1CnwRil9ttIumseP237RipqdTixNW"
    "MmNmi/3vFf6AUJVxm7R6ZOh1aMkeGYadfe6Q7OjbDsta4Zcot4f3mPatUsypG1lF3QhANzp1o4yjUe5eJwTGGjzP2DDFWS7nWbw0z0Jl"
    "5llHwVEnhdv/Nuvfoj1rOe92rm/l54kxKuw55i2/uh9TxwfY7xVZLqXGUcmUPP3CbfaKPJu8Yy5sE8VekY85mHGC7ifbtDW3tDhx5uZt"
    "a/lMKa9fMGeXCs3Uim1lZ9JFfiSnphBTEFMAxBTEFGDP5onMjFIjqh9Foz3fc96k5+oxb/zduAj+gr/b/DXk3lnMxV9zbjG1ks6aEzPm"
    "gmXOSnEi+TxY097g9p7z+oh6PzePAa97PxQngxrt9bCyrVahf+f1WveKxmmvaHaXvaJ4Q8fDzaunF8CRenRYJErrxIjUYWO75jvvO3SX"
    "5uLT1EpP2aWkkh5bvy7snEc91n4F8QzxbKcee31J9aNtgT3XY7lvhf34sjf+pq6CvwAANBtON9PLjFdSvzjHWIT7HGMbDVg11faOY9yo"
    "yKDU2hvsPVKuCWsyncxuZ4Hl1VvvOWHnPaq3xACiH9QbTnACh4O/lDzjBKdPgBOc5XiFE5xVYTQTr3CCUx0PnOBUx8PbCU6cCgG86Bu5"
    "3g/OuPks0OhTIa/p+FJ4Rua1+3MqJLIsbK9fIXLzyGMxT3bmsQlL9Zsyray5D3nsC/nceW/8fZYFf8HfnadCjHnVTz0LwpjcE2zUqZA1"
    "1z6Pm8cHhyhIAgAAUIuQRyEICkEAP6f8KARBIQiwe8qPQhDAzyk/CkH8ARSCVOcVCkHq02EoBAEOgx5DIQgAAECtON2E74RCkPKqDYUg"
    "wGFSbygEAfzIX0qeUQjiE6AQpByvUAhSFUYz8QqFIOp4oBBEHQ8UggCN0zcoBEEhCOA9j0UhCOBH/kqJi0IQ5srs/ZLHCtmnBTSXjmRl"
    "7dr1ZbBbePTuordTB5DHBkrrYnjJWx67voC14E3ylJaG8ai/Wyq8Zs7bZHw16JBT1JJvXd/3FlsXlL63CMvL95b8XWHjlD9QTz6n39nb"
    "fE7uK0pdsXFOfY779L+MtonvVb+HZOd/oOvUnzdVv2dkv5pWo9PPo6rfGtkbl/zx+5W+U1F+upnbm7z4fxuiY5LXgAAA";

// 39054 bytes, gzip + base64
const char* const kHdf5AttributeNameOverread =
    "H4sIAAAAAAACA+1dTXDbxhUGKFlhUjmR03TC1O2Yg2kzygwrU7KqUdR2LDuWLU9UW3XSRImjoUABIjECAZoAKdkeT310bzn66Ft16vio"
    "Yw496Kijjzn66EMPujm72LcgdwmQDP8iWe/pAO3uw+5i93tv377dJ/17+dr1s+/89h2FUjKpjCoTSiO9Bpp4KKZ5+QY8VXg+gedegueP"
    "BmUpyJ+A+tMjLL0P+V/eWVqi3K8l4u08HWPPJK8G6VTR8tKVVfpcgzTH00FC5Cu5hmnndkyrUPS9BlwudtnuOYCajOtxZRnwfVb5gKCS"
    "tbvpOltWgeZ/pDKQToR9SApy8p+362BWhfreDerbNiu6l3vdLdXMime5TgcdOdMgVYkgfyRSYHnGgSCwI7EC++Q8e05C+mgdJpIrjvvs"
    "mUVsv9EC+xzSj3n+Ogd9NM4W8yxdVNrwmSIfpy9u3b6mkjcA0sqLEXGBIusRW4DGcI56oRuf3V5RG5ZiQbEReqht2rrn5Ry9ZGoL2vWq"
    "s+kTjaTbWkZjalJbeKhZTrnq52z9PtFX2sLdu5AxrWWymez6ekYLi6T6blK+FVoo1JfX/c1ijlXiFfUyYb3rVG07M09+LpH6DP8+zdS2"
    "bFf3L82Ql6FC3vCjDPk171YdI+cQnU6bXo9gkrrzmevUZq4JXdHJ99Z0+s2k3LYcU6ddNXRfz225lZLuk+zNou44pu2REfB8WmrZwRu5"
    "iu7Trk9npknjW5btB4Mwm9EKFbdaJr9OZzSyRJB3c571gLJeCj4PukN6USNjqJV1w7Ac0h3NowUZzfMrFvuomcwM4a96Zi5v6STDr1TN"
    "iG+XpiTz8NH6utxO02hcpbNwi36kbT1gQyCMzK5Fq6b9NcueZdMRyk5ls9NhvXlHi+4LfFhzT4I3pG5cqc9A7MRUTLtaB0GQim6ZNBDR"
    "LLwgNXzNLPvFHcsz28GCvj5H552+kCtVbd8q2xbBdJv5NXZaTy7DTX1yt3Tb+/mzS1o5hkBnrNAdb9sqC0NRI5AzugQ6HdXmUQiaaMaW"
    "YQiDANmkHzH4YUCD6jN3oefNzbEapNbumCv/FJor6bs58qlVUjg3lRXgSPHkmAUyvDUz59kuVXdZyuMXK6ZXdG0jSEf3krYeA/O5iEEg"
    "ZqZeMFddl0x7QYIF8JRJYeQM0QI+p2yORPzGD+NcVBeDdpp6+Hd9t2XvSuUoQZK7Ft0V9mXNPSlFwOWG7eZ1O3K8FOhRa4GBegp6OQZf"
    "pUg0Mf4mNLGlMWI8iPARoOiVgllfP/8UNxe08iiweBEaseKW3aof1aQRFjFdkJ36c8zUe5FKCl6PUMKOZ8YrKs/d8okU1YfWAP6qY/mk"
    "xUsxOoL3NqInQQVN/bhONJ1vOlGfvgVFPw9f4VsNWdauX63Q3pO+SRYVfBe1p4ja4S8z++rRIyXRuA8kNDM1O9W4J0M7GQkJCQkpyjEq"
    "+1PGlT3wB4wrSSWlBCtRsBZ6Qf6vVUV5i5arzGPwHtTHn7AfCTZ6ipJ3gkxq9ZGHsROkqOlMHsRq42VzikJXS+r/LQcsxDQJylibsGgH"
    "K6GiwBLYxr90+DvRv8T8nUqsvxMJ/Z2NBxTc/5g9L/JxP9lqn9pl/s4xZR7S81+K7WxA+vFX4sHJjxdFviQYfZMz4gnb/O+l+iD9+AJ7"
    "lrl/f1vkS9tw8OKIcnRYFPmOIJ3aFs8L+IkN55uE9PLVweqzVzBAE+ejDnpSCjtaqiu0c+nLMNeLyuyvlNnX3N+sqpHtxOmbIszHrqBv"
    "4g9E9zURZ0inW99weX12QeSDhTSUo+Ue21WDnzp+udyk0yC2Wmf4nfgj4hfxW8dvmq8vmsjHnL8LoUuCOnFpiuN5vqv1sn4+eHRBWrck"
    "HCPF6YExNmYqT8M6OcoyYBlseo7G5DeXp4Kqz6UvQF5a+TCpfPgvKD9DZpCWJxIJlekRppFG1LWPGcdzYQF+v+Hew39vvr3duyaMwlUi"
    "1ItrU635Q733h2M/sSnBoBnt20RNTopLV9xE7Z6S8ZjH8RDGY/lEjAc3gOQN1DjcGaMbh2TExoE6Qj5oMW5552JBL5X0hQZvPMnLm76Q"
    "RfNKbs1yCrmSqTusqJ5X0yuW7myaC9m4jcfTy+joQOrd0bF4ebCOjtDh+Dcw1C4Pd4Oevik6PNptcB4v4QYH5aR5g16UHFjg1B74Bv0l"
    "tJtc6gy/L24gfhG/zRv0ySUJv/yyW07cqvdrg/7DVbE+GcdI/d2gq2026GrvG3Sw621l+Bv0Oq4OriNGerHD5AOZcbD0Wu13ftNgd6kS"
    "noydi5GqJM4e++ELlu70wGTiNq5nuJ4122NHn4t8cLtg4PbY7gpLP73VGX6L/0D8In6b7bH9WyLfoA9MVldEvS3jGKk7e0yNsb9Gpfy4"
    "8u7tsf+BPZb9Beyx+oHJ8zut+Tn+1lYRS61xNSh//P9PlD9+H/x1Lz7n9ulaW/v0bMO48YvxiQa74CJXrkGCa1Y+7tF26hFcvEL/OlI3"
    "6zzXe8++kuUe1uM+y418YXBo/vVvUU6QepeTg2+GIydPvmbpvW+GKyeLOZQTpN7l5NV3g5UTThDQEV5EhZAOHtMRnn9xvwuEdfC4Dh7Y"
    "wSM7eGgHj+3gwR0KRHeE4R38ezr9AzNsP3ImtF6f1cRxOYD0S2Dg41kcE/n24A+YHBiSXkqJfPJFcz7ui3J9IO8HuuiPevKtyPcc0off"
    "/bJ44/pR7k+/9SPqPaRu9N5LfTj2gSy3iH+kY4F/Y0j4l9bBoQVSFdE+7hcNz7eYOhG+RWYjNvyN1E9b83OZ25trzRdieKE1Hw+OTP8F"
    "cYUxBhhjgDEGGGOAdHpsV4wxwBgDpHg5wRiD42/5bhwq7++9Quy2wnGa73cw1uCE7ucw1gBjDfpnj2GsAdKbYJdhrAHSSbbHMNbgzbDH"
    "MNagNT/GGnSKK4w1CPQixhogvQHrPMYaoJwgdS4nGGuAcoLUXk4w1iBqP4KxBv3SjxhrgHQc9R7GGiCdavxjrAHKCVJbOZkoDkdODk2w"
    "BwvDlZPvt1FOkHqXk/nt4ciJ/E/JhiUnk7Dv6/Seye49cXyQTrec8NOyDUfk4/6KQd8z+ZG3e4/j90pL/B56iF/Eb/M9k/Q9kW/Q90z2"
    "HXE9kXGMFKcH5PsA7NheTYj3AeL/+Ve39wNGP2Ec7e6RFIc6HvI9k1S1NX9477yCWGqNK/GeyUjfcDT7CbfwWuPoeNwzkf+pbif3TN5V"
    "4u+ZBHZBeNGEpRpvmsTZqXsPcD+H1Pt+Lnl/sPs5/vcauF3x4q9iO3Kc5yK3n78W+eTz9w3I3zNFPtm/wlen72+KfPJ9seNOXP/I55L9"
    "3hf/BBBUPU6OmAAA";

// ---------------------------------------------------------------------------------------------------------
// Keras HDF5: damage that libhdf5 1.10 itself mishandles. import_keras_model screens every file in a child
// process (keras/h5_probe.h) and pre-checks global heaps (keras/h5_precheck.h).

// The contract for inputs on which libhdf5 misbehaves: the process survives, and the outcome is a result
// or a tinyptq::Error naming the file (an over-read is silent without ASan; under ASan the child dies).
void expect_survives(const std::string& path) {
  try {
    import_keras_model(path);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
  }
}

TEST(Hdf5Regression, FuzzerFoundInputsAreContained) {
  testing::TempDir dir;
  for (const auto& [name, blob] : {std::pair{"huge_allocation.h5", kHdf5HugeAllocation},
                                   std::pair{"attribute_name_overread.h5", kHdf5AttributeNameOverread}}) {
    SCOPED_TRACE(name);
    const std::string bytes = unpack(blob);
    ASSERT_GT(bytes.size(), 30000u);
    ASSERT_EQ(bytes.substr(1, 3), "HDF");
    testing::write_bytes(dir.file(name), bytes);
    expect_survives(dir.file(name));
  }
}

// fuzz_keras: a global heap collection whose first object is free space of size 0 made libhdf5's
// H5HG__cache_heap_deserialize loop forever while reading model_config (a vlen string).
TEST(Hdf5Regression, GlobalHeapFreeSpaceOfSizeZeroFailsFast) {
  testing::TempDir dir;
  const auto layers = fuzz::fixture_model();
  fuzz::write_fixture_h5(dir.file("ok.h5"), layers, fuzz::fixture_config(layers, {"dense"}));
  ASSERT_NO_THROW(import_keras_model(dir.file("ok.h5")));
  std::string bytes = read_file(dir.file("ok.h5"));
  const size_t at = bytes.find("GCOL");
  ASSERT_NE(at, std::string::npos);
  for (size_t k = 16; k < 18; ++k) bytes[at + k] = '\0';  // first object: index 0 (free space)
  for (size_t k = 24; k < 32; ++k) bytes[at + k] = '\0';  // ... of size 0
  testing::write_bytes(dir.file("loop.h5"), bytes);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = error_of([&] { import_keras_model(dir.file("loop.h5")); });
  EXPECT_NE(msg.find("loop.h5: damaged HDF5 file: global heap collection at byte " + std::to_string(at)),
            std::string::npos) << msg;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  // An object overrunning its collection is refused too (libhdf5 would copy past the collection).
  bytes = read_file(dir.file("ok.h5"));
  bytes[at + 16] = '\x01';
  for (size_t k = 24; k < 32; ++k) bytes[at + k] = '\x7f';
  testing::write_bytes(dir.file("overrun.h5"), bytes);
  EXPECT_NE(error_of([&] { import_keras_model(dir.file("overrun.h5")); }).find("overruns the collection"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------
// Graph::validate_and_sort

Node chain_node(int k) {
  Node n;
  n.op = Op::kRelu;
  n.name = "n" + std::to_string(k);
  n.inputs = {k == 0 ? "x" : "v" + std::to_string(k - 1)};
  n.outputs = {"v" + std::to_string(k)};
  return n;
}

Graph chain(int n, bool reversed) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 4}});
  g.outputs.push_back({"v" + std::to_string(n - 1), DType::kFloat32, {-1, 4}});
  for (int k = 0; k < n; ++k) g.nodes.push_back(chain_node(reversed ? n - 1 - k : k));
  return g;
}

TEST(GraphSortRegression, ReversedChainOf20000NodesSortsQuickly) {
  Graph g = chain(20000, /*reversed=*/true);
  const auto t0 = std::chrono::steady_clock::now();
  g.validate_and_sort();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int k = 0; k < 20000; ++k) ASSERT_EQ(g.nodes[size_t(k)].name, "n" + std::to_string(k));
  EXPECT_LT(seconds, 2.0);  // was 21 s; ~0.05 s now (generous for sanitizer builds)
}

TEST(GraphSortRegression, StableOrderAmongReadyNodes) {
  // Already sorted: unchanged, including independent branches interleaved in file order.
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {}});
  auto node = [](const char* name, std::vector<std::string> in, const char* out) {
    return Node{Op::kRelu, name, std::move(in), {out}, {}};
  };
  g.nodes = {node("a", {"x"}, "a"), node("b", {"x"}, "b"), node("a2", {"a"}, "a2"), node("c", {"b", "a2"}, "c")};
  g.outputs.push_back({"c", DType::kFloat32, {}});
  g.validate_and_sort();
  std::vector<std::string> order;
  for (const auto& n : g.nodes) order.push_back(n.name);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "a2", "c"}));

  // Out of order: whenever several nodes are ready, the earliest in file order goes first.
  g.nodes = {node("c", {"b", "a2"}, "c"), node("a2", {"a"}, "a2"), node("b", {"x"}, "b"), node("a", {"x"}, "a")};
  g.validate_and_sort();
  order.clear();
  for (const auto& n : g.nodes) order.push_back(n.name);
  EXPECT_EQ(order, (std::vector<std::string>{"b", "a", "a2", "c"}));

  // A node reading the same value twice waits for it once.
  g.nodes = {Node{Op::kAdd, "sum", {"r", "r"}, {"c"}, {}}, node("r", {"x"}, "r")};
  g.validate_and_sort();
  EXPECT_EQ(g.nodes[0].name, "r");
}

TEST(GraphSortRegression, ErrorMessagesNameTheFirstBlockedNode) {
  Graph g = chain(5, false);
  g.nodes[2].inputs = {"v3"};  // n2 ← n3 ← n2
  EXPECT_EQ(error_of([&] { g.validate_and_sort(); }), "graph has a cycle through node 'n2' (input 'v3')");
  g = chain(5, true);
  g.nodes[1].inputs = {"ghost"};  // nodes[1] is n3
  EXPECT_EQ(error_of([&] { g.validate_and_sort(); }),
            "node 'n3' reads 'ghost', which is neither a graph input, an initializer nor a node output");
  g = chain(3, false);
  g.nodes[1].outputs = {"v0"};
  EXPECT_EQ(error_of([&] { g.validate_and_sort(); }), "value 'v0' is produced more than once (node 'n1')");
  g = chain(3, false);
  g.outputs[0].name = "nowhere";
  EXPECT_EQ(error_of([&] { g.validate_and_sort(); }), "graph output 'nowhere' is never produced");
  g = chain(1, false);
  g.nodes[0].inputs = {"v0"};  // reads its own output
  EXPECT_EQ(error_of([&] { g.validate_and_sort(); }), "graph has a cycle through node 'n0' (input 'v0')");
  // The first blocked node is only downstream of the cycle: the node named lies on the cycle itself.
  g = chain(3, false);
  g.outputs[0].name = "d";
  g.nodes.insert(g.nodes.begin(), Node{Op::kRelu, "d", {"v2"}, {"d"}, {}});
  g.nodes[2].inputs = {"v2"};  // n1 ← n2 ← n1
  EXPECT_EQ(error_of([&] { g.validate_and_sort(); }), "graph has a cycle through node 'n2' (input 'v1')");
}

// ---------------------------------------------------------------------------------------------------------
// JSON nesting: printing or copying a deeply nested value recursed once per level (stack overflow).

TEST(JsonNestingRegression, ModelConfigDepthIsBounded) {
  const std::string deep_array = "{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": "
                                 "\"InputLayer\", \"name\": \"i\", \"inbound_nodes\": [], \"config\": {}}], "
                                 "\"input_layers\": " + std::string(200000, '[') + std::string(200000, ']') + "}}";
  EXPECT_NE(error_of([&] { parse_keras_model_config(deep_array, "deep.h5"); }).find("deep.h5: model_config nests"),
            std::string::npos);
  std::string deep_object = "{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": \"Dense\", "
                            "\"name\": \"d\", \"inbound_nodes\": [], \"config\": ";
  for (int i = 0; i < 200000; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(200000, '}') + "}]}}";
  EXPECT_NE(error_of([&] { parse_keras_model_config(deep_object, "deep.h5"); }).find("nests deeper"),
            std::string::npos);
}

TEST(JsonNestingRegression, LockfileDepthIsBounded) {
  const std::string deep = "{\"schema_version\": " + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_NE(error_of([&] { calibration_from_json(deep, "deep.json"); }).find("deep.json: calibration lock nests"),
            std::string::npos);
}

// fuzz_npy: a zip whose deflated member fails without an error message made archive_error_string return
// NULL, and building the message from it crashed (strlen(NULL)).
constexpr unsigned char kNpzNullArchiveMessage[] = {
  0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00,
  0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x88, 0x00,
  0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x78, 0x2e, 0x6e, 0x70, 0x79, 0x55,
  0x54, 0x01, 0x00, 0x00, 0x75, 0x78, 0x0b, 0x00, 0x01, 0x04, 0x00, 0x00,
  0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b,
  0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c,
  0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x66, 0xa2, 0xae, 0xa3, 0xa0, 0x9e,
  0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a,
  0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16,
  0xa4, 0x02, 0xf9, 0x1a, 0x46, 0x3a, 0x0a, 0x86, 0x9a, 0x3a, 0x0a, 0xb5,
  0x0a, 0x64, 0x03, 0x2e, 0x06, 0x86, 0x06, 0x07, 0x06, 0x86, 0x05, 0x0e,
  0x00, 0x50, 0x4b, 0x07, 0x08, 0x5d, 0x31, 0x3e, 0xc9, 0x4e, 0x00, 0x00,
  0x00, 0x88, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x13, 0x04, 0x14, 0x00, 0x08,
  0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x82, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x79,
  0x2e, 0x6e, 0x70, 0x79, 0x55, 0x54, 0x01, 0x00, 0x00, 0x75, 0x78, 0x0b,
  0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
  0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50, 0xad,
  0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59,
  0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
  0x20, 0x20, 0x20, 0x6e, 0xa5, 0xa0, 0x5e, 0x53, 0x6a, 0xa8, 0xae, 0xa3,
  0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94,
  0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67,
  0x24, 0x16, 0xa4, 0x02, 0x20, 0x20
};

TEST(NpzRegression, ArchiveFailureWithoutAMessageIsAnError) {
  const std::string bytes(reinterpret_cast<const char*>(kNpzNullArchiveMessage), sizeof kNpzNullArchiveMessage);
  try {
    parse_npz(bytes, "crash.npz");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("crash.npz: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace tinyptq
