// ONNX TensorProto .pb files (src/data/tensor_pb): round trips of every dtype, the typed-field encoding,
// each rejected input naming the file, and --data input_0.pb as an array source.
#include "data/tensor_pb.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "core/error.h"
#include "data/open_source.h"
#include "test_util.h"

namespace tinyptq {
namespace {

std::string error_of(const std::string& bytes) {
  try {
    parse_tensor_pb(bytes, "input_0.pb");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TensorPb, RoundTripsEveryDtype) {
  const Tensor f = Tensor::from_floats({2, 3}, {1.5f, -2, 0, 3e-8f, 1e30f, -0.0f});
  const Tensor back = parse_tensor_pb(tensor_pb_bytes(f, "x"), "f.pb");
  EXPECT_EQ(back.dtype, DType::kFloat32);
  EXPECT_EQ(back.shape, f.shape);
  EXPECT_EQ(back.f, f.f);
  for (DType t : {DType::kUint8, DType::kInt8, DType::kInt32, DType::kInt64}) {
    const Tensor i = Tensor::from_ints(t, {3}, {0, 1, t == DType::kUint8 ? 255 : -7});
    const Tensor b = parse_tensor_pb(tensor_pb_bytes(i), "i.pb");
    EXPECT_EQ(b.dtype, t) << dtype_name(t);
    EXPECT_EQ(b.i, i.i) << dtype_name(t);
  }
}

TEST(TensorPb, ReadsTypedFloatData) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(1);
  p.add_dims(2);
  p.add_float_data(0.25f);
  p.add_float_data(-4);
  const Tensor t = parse_tensor_pb(p.SerializeAsString(), "typed.pb");
  EXPECT_EQ(t.shape, (Shape{1, 2}));
  EXPECT_EQ(t.f, (std::vector<float>{0.25f, -4}));
}

TEST(TensorPb, RejectsBadFilesNamingThem) {
  const std::string good = tensor_pb_bytes(Tensor::from_floats({4, 4}, std::vector<float>(16, 1.f)));
  onnx::TensorProto dbl;
  dbl.set_data_type(onnx::TensorProto::DOUBLE);
  dbl.add_dims(1);
  dbl.add_double_data(1.0);
  const struct {
    std::string bytes, says;
  } cases[] = {
      {"", "empty"},
      {"\xff\xff\xff\xff garbage", "not a valid ONNX TensorProto"},
      {good.substr(0, good.size() - 5), "TensorProto"},  // truncated raw_data
      {"\x93NUMPY\x01\x00", ""},                          // a .npy is not a TensorProto
      {dbl.SerializeAsString(), "DOUBLE"},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of(c.bytes);
    EXPECT_NE(msg.find("input_0.pb"), std::string::npos) << "'" << msg << "' for " << c.says;
    EXPECT_NE(msg.find(c.says), std::string::npos) << msg;
  }
  EXPECT_THROW(load_tensor_pb("/nonexistent/input_0.pb"), Error);
}

TEST(TensorPb, IsAnArraySourceDetectedByExtension) {
  testing::TempDir dir;
  std::vector<float> v(2 * 3 * 2 * 2);
  for (size_t k = 0; k < v.size(); ++k) v[k] = float(k);
  testing::write_bytes(dir.file("input_0.pb"), tensor_pb_bytes(Tensor::from_floats({2, 3, 2, 2}, v)));
  EXPECT_EQ(detect_data_format(dir.file("input_0.pb")), DataFormat::kTensorPb);
  EXPECT_EQ(parse_data_format("pb"), DataFormat::kTensorPb);
  const auto s = open_data_source({dir.file("input_0.pb")}, Layout::kNCHW, {});
  EXPECT_EQ(s->count(), 2);
  EXPECT_EQ(s->sample_shape(), (Shape{3, 2, 2}));
  EXPECT_TRUE(s->labels().empty());
  std::vector<float> got(12);
  const int64_t idx[] = {1};
  s->read(idx, got.data());
  EXPECT_EQ(got[0], 12.f);
  EXPECT_EQ(got[11], 23.f);
}

}  // namespace
}  // namespace tinyptq
