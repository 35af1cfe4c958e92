//===- Data.h - Data sets from a --data folder, and per-batch transforms --===//
//
// Images stay uint8 [N, C, H, W] in host memory (150 MB for all of CIFAR-10,
// 55 MB for Fashion-MNIST), read once; each batch is moved to the training
// device and transformed there, so that a 224x224 float copy of the data set
// never exists.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_DATA_H
#define RTML_RUNTIME_DATA_H

#include "rtml/Runtime/Model.h"

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rtml {

/// The image files of an ImageFolder split, decoded on demand: how a split
/// whose decoded images exceed imageCacheBytes() is read, batch by batch.
struct ImageFiles {
  std::string root;               ///< the split folder (train/, val/)
  std::vector<std::string> paths; ///< under ROOT, in ImageFolder order
  int64_t height = 0, width = 0;  ///< every image's size after loading
  /// Whether images of another size are resized to height x width (the
  /// pipeline has a resize) or refused (it has none).
  bool resizeOnLoad = false;

  /// uint8 [len(ROWS), 3, height, width] of the files ROWS (int64 indices
  /// into PATHS), decoded on worker threads. Throws DataFileError naming the
  /// first file (in ROWS order) that is broken or of the wrong size.
  at::Tensor decode(const at::Tensor &rows) const;
};

/// A data set: images in memory, or (an ImageFolder split larger than the
/// in-memory cache) rows of image files, decoded when a batch needs them.
struct Dataset {
  at::Tensor images; ///< uint8 [N, C, H, W] (CIFAR: 3x32x32; IDX: 1xHxW);
                     ///< undefined when streamed
  at::Tensor labels; ///< int64 [N], each in [0, 9]
  std::shared_ptr<const ImageFiles> files; ///< set when streamed
  at::Tensor rows; ///< streamed: int64 [N], image i is files->paths[rows[i]]

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  bool streamed() const { return files != nullptr; }
  /// (C, H, W) of every image.
  std::vector<int64_t> imageShape() const;
  /// Images [START, START + LEN) / the images at the int64 indices IDX, in
  /// memory or as rows of the same files.
  Dataset slice(int64_t start, int64_t len) const;
  Dataset select(const at::Tensor &idx) const;
  /// The uint8 [N, C, H, W] images, decoded from their files when streamed.
  at::Tensor loadImages() const;
};

/// Bytes per CIFAR-10 record: one label byte and a 32x32 RGB planar image.
constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;

/// Reads one CIFAR-10 binary file. Throws std::runtime_error naming the file
/// when it is missing, empty, not a whole number of records, or holds a label
/// above 9 (naming the record too).
Dataset readCifarFile(const std::string &path);
/// The checks of readCifarFile on the bytes DATA of the file PATH.
Dataset parseCifarBinary(const uint8_t *data, size_t size,
                         const std::string &path);
/// Reads one CIFAR-10 Python batch (cifar-10-batches-py/data_batch_N: a
/// pickled dict with b'data' uint8 [N, 3072] and b'labels'). Errors name
/// the file (missing, truncated, not such a dict, a label outside 0..9).
/// numpy's Fortran-ordered arrays are read in their order (never as C
/// order); pickles nested deeper than a data set needs are refused.
Dataset readCifarPythonFile(const std::string &path);
/// The checks of readCifarPythonFile on the bytes DATA of the file PATH.
Dataset parseCifarPython(const uint8_t *data, size_t size,
                         const std::string &path);

enum class CifarFormat { Binary, Python };
struct CifarLocation {
  std::string dir; ///< the folder holding the batch files
  CifarFormat format;
};
/// Finds the data set under DIR: the binary format (data_batch_1.bin,
/// test_batch.bin) or the Python format (data_batch_1, test_batch), in DIR
/// itself or in its cifar-10-batches-bin / cifar-10-batches-py folder.
/// Throws std::runtime_error naming what was expected when neither is there.
CifarLocation locateCifar(const std::string &dir);

/// data_batch_1 .. data_batch_N, concatenated in order, in either format
/// (see locateCifar). The batches must be numbered from 1 with none
/// missing: a gap (data_batch_3 absent while data_batch_4 is there) is an
/// error naming the missing batch, as is a batch that is a FIFO, a
/// directory, a dangling link or unreadable.
Dataset readCifarTrain(const std::string &dir);
/// test_batch(.bin), in either format.
Dataset readCifarTest(const std::string &dir);
/// The data set formats a --data folder may hold.
enum class DataFormat { CifarBinary, CifarPython, Idx, ImageFolder };
struct DataLocation {
  std::string dir; ///< the folder holding the files
  DataFormat format;
};
/// Finds the data set under DIR, trying in turn: CIFAR-10 (see
/// locateCifar), then IDX (MNIST, Fashion-MNIST: train-images-idx3-ubyte or
/// t10k-images-idx3-ubyte, gzipped or not) in DIR, DIR/raw,
/// DIR/FashionMNIST/raw or DIR/MNIST/raw (torchvision's layouts), then
/// torchvision's ImageFolder layout (DIR/train/<class>/...). Throws
/// std::runtime_error naming DIR and every format looked for when none is
/// there.
DataLocation locateData(const std::string &dir);
/// A name for FORMAT in messages ("CIFAR-10 binary", "IDX", ...).
const char *formatName(DataFormat format);

/// The training and the test set of the data set under DIR, in whichever
/// format locateData finds. CONFIG gives an ImageFolder set of mixed image
/// sizes the size to resize to on load (see readImageFolder).
Dataset readTrainSet(const std::string &dir, const DataConfig &config = {});
Dataset readTestSet(const std::string &dir, const DataConfig &config = {});
/// An IDX split (see Idx.h): PREFIX "train" or "t10k"; images [N, 1, H, W].
Dataset readIdxSet(const std::string &dir, const std::string &prefix);

/// torchvision.datasets.ImageFolder: DIR/train/<class>/**/*.{jpg,jpeg,png}
/// (any case) for training, DIR/val/ or else DIR/test/ for testing.
bool holdsImageFolder(const std::string &dir);
/// The classes: the folders of DIR/train, sorted by name in byte order.
std::vector<std::string> imageFolderClasses(const std::string &dir);
/// DIR/val or DIR/test, whichever is a folder (val first); "" if neither.
std::string imageFolderTestSplit(const std::string &dir);
/// The most bytes the decoded uint8 images of one split may take in memory:
/// 8 GiB, or $RTML_IMAGE_CACHE_MB megabytes. A larger split is streamed
/// from its files instead (see readImageFolder).
uint64_t imageCacheBytes();
/// $NAME as a number of megabytes, in bytes; FALLBACK when it is unset or
/// not a whole number.
uint64_t megabytesFromEnv(const char *name, uint64_t fallback);
/// The images of SPLIT (a train/ or val/ folder) as uint8 [N, 3, H, W] (RGB
/// as PIL's convert('RGB')), labelled by the index of its folder in
/// CLASSES. Images of different sizes are resized on load (bilinear,
/// align_corners=false, no antialiasing, rounded) to the size of PIPELINE's
/// first resize; without one they are refused, naming two files of
/// different sizes. A split that fits in imageCacheBytes() is decoded once,
/// on worker threads, into memory; a larger one is streamed: each batch is
/// decoded from its files, by worker threads ahead of the step (see
/// BatchSampler).
Dataset readImageFolder(const std::string &split,
                        const std::vector<std::string> &classes,
                        const std::vector<TransformConfig> &pipeline);

/// Throws std::runtime_error naming SOURCE unless the images of SET, after
/// the pipeline of CONFIG (training and evaluation alike), have the shape
/// INPUTSHAPE (C, H, W) the network takes: say a 1-channel set fed to a
/// 3-channel network, with the transform that would fix it.
void checkInputMatches(const Dataset &set, const DataConfig &config,
                       const std::vector<int64_t> &inputShape,
                       const std::string &source);

/// The first N images of SET (all of them when N <= 0 or N >= size).
Dataset takeFirst(const Dataset &set, int64_t n);
/// The RANK-th of WORLD contiguous parts of SET, their sizes differing by at
/// most one: a data-parallel process's share of an evaluation set.
Dataset contiguousShard(const Dataset &set, int64_t rank, int64_t world);

/// torch.utils.data.random_split(SET, [TRAIN, VAL, rest],
/// generator=torch.Generator().manual_seed(SEED)): a permutation of all of
/// SET, its first TRAIN indices for training, the next VAL for validation.
std::pair<Dataset, Dataset> randomSplit(const Dataset &set, int64_t train,
                                        int64_t val, uint64_t seed);

/// The transform steps of each phase: CONFIG's per-phase lists, or the ones
/// its shorthand fields describe.
std::vector<TransformConfig> trainPipeline(const DataConfig &config);
std::vector<TransformConfig> evalPipeline(const DataConfig &config);

/// HOST (a CPU tensor) on DEVICE. On CUDA through pinned memory and
/// without waiting: the copy is queued on the current stream, ahead of the
/// kernels that read it, while the host goes on to the next step.
at::Tensor uploadToDevice(const at::Tensor &host, at::Device device);

/// The most bytes a training set may take on a CUDA device to stay there
/// for the whole run: 4 GiB, or $RTML_DEVICE_DATA_MB megabytes (0: never).
uint64_t deviceDataBytes();
/// SET held on DEVICE when that is a CUDA device, SET is in memory (not
/// streamed) and its images and labels take at most BUDGET bytes; else SET
/// as it is. A held set is uploaded once; a BatchSampler then gathers its
/// batches on the device, and the transforms find them there.
Dataset keepOnDevice(const Dataset &set, at::Device device, uint64_t budget);

/// Turns a uint8 batch into the network's input on DEVICE: float in [0, 1],
/// then the phase's pipeline (resize: bilinear, align_corners=false;
/// random_horizontal_flip and random_resized_crop draw from a CPU generator
/// seeded SEED, so a seed gives the same images on every device; grayscale
/// as torchvision's Grayscale(num_output_channels) on a float tensor for 3
/// channels, and as its PIL path, which repeats the one channel, for 1).
///
/// On a CUDA device a pipeline that folds into the fused preprocessing
/// kernel (one geometric step at most; see lib/data/FusedPreprocess.h)
/// runs as that one kernel, which writes the batch in FORMAT (the model's
/// input layout and precision there): the same draws, the same images
/// within float rounding. On the CPU the steps run one by one, bit-equal
/// to the pipeline as written.
class BatchTransform {
public:
  BatchTransform(DataConfig config, at::Device device, uint64_t seed,
                 InputFormat format = {});
  at::Tensor operator()(const at::Tensor &images, bool training);

  /// Fused preprocessing on or off, on any device (tests run its CPU twin
  /// through this).
  void setFused(bool on) { fused = on; }

  /// The random generator's state (a CPU byte tensor), to checkpoint.
  at::Tensor generatorState() const { return gen.get_state(); }
  void setGeneratorState(const at::Tensor &state) { gen.set_state(state); }

private:
  at::Tensor apply(const TransformConfig &step, const at::Tensor &x);

  std::vector<TransformConfig> train, eval;
  at::Device device;
  InputFormat format;
  bool fused;
  at::Generator gen;
};

/// Batches of a data set in a fresh seeded order each epoch (or in file order
/// when not shuffling). The last batch may be smaller. Of a streamed set,
/// the next kPrefetchBatches batches are decoded on worker threads while
/// the caller trains on this one (batches are asked for in order).
class BatchSampler {
public:
  static constexpr int64_t kPrefetchBatches = 2;

  BatchSampler(const Dataset &set, int64_t batchSize, bool shuffle,
               uint64_t seed);
  ~BatchSampler();
  BatchSampler(const BatchSampler &) = delete;
  BatchSampler &operator=(const BatchSampler &) = delete;
  /// Draws this epoch's order; call once before each epoch.
  void startEpoch();
  int64_t numBatches() const;
  /// Images (uint8, CPU) and labels (int64, CPU) of batch I of this epoch
  /// (of this process's share of it, after shard). May be empty in the last
  /// batch of a sharded epoch.
  std::pair<at::Tensor, at::Tensor> batch(int64_t i) const;
  /// Data parallel: batch I becomes the RANK-th of WORLD consecutive slices
  /// of the epoch's batch of batchSize * WORLD images, so that the processes
  /// together see the batches one process with that batch size would.
  void shard(int64_t rank, int64_t world);
  /// Images in batch I over all the processes.
  int64_t globalBatchSize(int64_t i) const;

  /// The generator's state (a CPU byte tensor): taken before startEpoch and
  /// restored, it gives that epoch's order again.
  at::Tensor generatorState() const { return gen.get_state(); }
  void setGeneratorState(const at::Tensor &state) { gen.set_state(state); }

private:
  /// The rows of batch I of this epoch (of this process's share).
  Dataset batchRows(int64_t i) const;
  /// Waits for the decodes in flight (they read ORDER).
  void dropPrefetched() const;

  Dataset set; ///< shares the caller's tensors
  int64_t batchSize;
  /// Streamed sets: batch index -> its images, decoding.
  mutable std::map<int64_t, std::shared_future<at::Tensor>> prefetched;
  int64_t rank = 0, world = 1;
  bool shuffle;
  at::Generator gen;
  at::Tensor order;
};

} // namespace rtml

#endif // RTML_RUNTIME_DATA_H
