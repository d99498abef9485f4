// Dense matrix types shared by the model and ranking layers.
#pragma once

#include <Eigen/Dense>

namespace recsys::model {

// Factor matrices are row-major: one contiguous row of `factors` floats per user
// or item, the layout stored in LMDB and multiplied in blocks by precompute.
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace recsys::model
