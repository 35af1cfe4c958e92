// RUN: rtml-opt %s -split-input-file -verify-diagnostics | FileCheck %s
// rtml.train and rtml.data against the settings table: every setting present
// and typed, each in range, the rules between them, every transform known
// and complete.

// A complete module verifies; a step schedule with its settings.
// CHECK-LABEL: module attributes
// CHECK-SAME: rtml.data = {eval_transforms = [{kind = "grayscale", num_output_channels = 1 : i64}]
// CHECK-SAME: rtml.train = {{{.*}}lr_schedule = "step"{{.*}}step_size = 10 : i64
module attributes {
    rtml.train = {epochs = 30 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.1 : f64,
                  momentum = 0.9 : f64, nesterov = true, weight_decay = 0.0 : f64, seed = 1 : i64,
                  lr_schedule = "step", step_size = 10 : i64, gamma = 0.5 : f64,
                  eta_min = 0.0 : f64, t_max = 30 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 100 : i64, split_seed = 1 : i64,
                 train_transforms = [{kind = "random_resized_crop", size = array<i64: 28, 28>, scale = array<f64: 0.5, 1.0>, ratio = array<f64: 0.75, 1.25>}],
                 eval_transforms = [{kind = "grayscale", num_output_channels = 1 : i64}]}} {
}

// -----

// A schedule's settings are checked only under that schedule: step_size 0
// is fine for a constant one.
// CHECK-LABEL: module attributes
// CHECK-SAME: lr_schedule = "constant"
module attributes {
    rtml.train = {epochs = 1 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.1 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.train' is missing entry 'eta_min' (cosine schedule: final lr)}}
module attributes {
    rtml.train = {epochs = 1 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.1 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  t_max = 1 : i64, precision = "auto"}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.train' entry 'eta_min' must be an f64}}
module attributes {rtml.train = {eta_min = 0 : i64}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.train' entry 'nesterov' must be a bool}}
module attributes {rtml.train = {nesterov = 1 : i64}} {
}

// -----

// expected-error @+1 {{'builtin.module' op unknown optimizer 'adam' in 'rtml.train' (sgd)}}
module attributes {rtml.train = {optimizer = "adam"}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.train' entry 'momentum' must be positive with nesterov = true}}
module attributes {
    rtml.train = {epochs = 1 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.1 : f64,
                  momentum = 0.0 : f64, nesterov = true, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.train' entry 'step_size' must be positive with lr_schedule = step}}
module attributes {
    rtml.train = {epochs = 1 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.1 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "step", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.train' entry 'lr' must be positive}}
module attributes {rtml.train = {lr = 0.0 : f64}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.data' is missing entry 'split_seed'}}
module attributes {rtml.data = {split_train = 0 : i64, split_val = 0 : i64,
                                train_transforms = [], eval_transforms = []}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.data' is missing entry 'eval_transforms' (a list of transforms)}}
module attributes {rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                                train_transforms = []}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.data' entry 'split_val' must be non-negative}}
module attributes {rtml.data = {split_val = -1 : i64}} {
}

// -----

// An unknown transform is refused, not emitted as some other one.
// expected-error @+1 {{'builtin.module' op 'rtml.data' entry 'train_transforms' transform #2 has unknown kind 'rotate'}}
module attributes {rtml.data = {train_transforms = [{kind = "resize", size = array<i64: 8, 8>}, {kind = "rotate"}]}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.data' entry 'eval_transforms' transform #1 ('resize') is missing entry 'size'}}
module attributes {rtml.data = {eval_transforms = [{kind = "resize"}]}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.data' entry 'eval_transforms' transform #1 ('grayscale') entry 'num_output_channels' must be an i64, 1 or 3}}
module attributes {rtml.data = {eval_transforms = [{kind = "grayscale", num_output_channels = 2 : i64}]}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.data' entry 'train_transforms' transform #1 ('random_horizontal_flip') has unknown entry 'size'}}
module attributes {rtml.data = {train_transforms = [{kind = "random_horizontal_flip", p = 0.5 : f64, size = array<i64: 8, 8>}]}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.data' entry 'train_transforms' transform #1 ('normalize') needs 'mean' and 'std' of equal length}}
module attributes {rtml.data = {train_transforms = [{kind = "normalize", mean = array<f64: 0.5, 0.5>, std = array<f64: 1.0>}]}} {
}
