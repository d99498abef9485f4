// The conjugate-gradient iteration shared by both paths of implicit_cg
// (row_solver.cpp with Eigen, fused_cg.cpp with AVX2 passes): only how A p is
// computed differs between them.
#pragma once

#include "model/row_solver.hpp"

namespace recsys::model {

// From the residual r = b − A x in ws.r, at most `steps` CG iterations on x
// (Takács, Pilászy & Tikk 2011), with apply(p, ap) setting ap = A p. Stops
// early when the residual vanishes or a direction has no positive curvature.
template <typename Apply>
void cg_steps(Eigen::Map<Eigen::VectorXf> x, unsigned steps, RowWorkspace& ws, Apply apply) {
  ws.p = ws.r;
  float rs_old = ws.r.squaredNorm();
  for (unsigned s = 0; s < steps && rs_old > 1e-20f; ++s) {
    apply(ws.p, ws.ap);
    float pap = ws.p.dot(ws.ap);
    if (!(pap > 0.0f)) break;
    float step = rs_old / pap;
    x.noalias() += step * ws.p;
    ws.r.noalias() -= step * ws.ap;
    float rs_new = ws.r.squaredNorm();
    ws.p = ws.r + (rs_new / rs_old) * ws.p;
    rs_old = rs_new;
  }
}

}  // namespace recsys::model
