"""TinyTorch module 11: tokenization, from characters to byte-level BPE.

>>> from tinytorch.tokenization import BPETokenizer
>>> tok = BPETokenizer().train("the cat sat on the mat " * 20, vocab_size=270, progress=False)
>>> tok.decode(tok.encode("the cat 🐈")) == "the cat 🐈"
True
>>> batch = tok.encode_batch(["the cat", "a mat", "the"], pad_id=0)
>>> batch.input_ids.shape, batch.input_ids.dtype
((3, 2), dtype('int64'))
>>> batch.attention_mask.tolist()
[[1, 1], [1, 1], [1, 0]]
"""

from tinytorch.tokenization.__about__ import __version__
from tinytorch.tokenization.base import Tokenizer
from tinytorch.tokenization.batch import BatchEncoding, pad_batch
from tinytorch.tokenization.bpe import BPETokenizer
from tinytorch.tokenization.char import CharTokenizer
from tinytorch.tokenization.errors import (
    DisallowedSpecialTokenError,
    TokenIdError,
    TokenizerError,
    UnknownCharacterError,
    VocabSizeError,
    VocabularyFileError,
)
from tinytorch.tokenization.formats import (
    bytes_to_unicode,
    merges_from_ranks,
    read_gpt2_files,
    read_tiktoken_file,
    token_to_unicode,
    unicode_to_bytes,
    write_gpt2_files,
    write_tiktoken_file,
)
from tinytorch.tokenization.lessons import (
    compression_curve,
    embedding_memory,
    encode_throughput,
    token_array_memory,
    tokens_per_byte,
)
from tinytorch.tokenization.merging import (
    count_pairs,
    encode_chunk,
    merge_by_rank,
    merge_by_rank_heap,
    merge_pair,
)
from tinytorch.tokenization.patterns import (
    CL100K_SPLIT_PATTERN,
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    split_text,
)
from tinytorch.tokenization.training import (
    HF_BYTE_ORDER,
    count_chunks,
    pair_order,
    train_bpe,
    train_bpe_naive,
)

__all__ = [
    "CL100K_SPLIT_PATTERN",
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPLIT_PATTERN",
    "HF_BYTE_ORDER",
    "BPETokenizer",
    "BatchEncoding",
    "CharTokenizer",
    "DisallowedSpecialTokenError",
    "TokenIdError",
    "Tokenizer",
    "TokenizerError",
    "UnknownCharacterError",
    "VocabSizeError",
    "VocabularyFileError",
    "__version__",
    "bytes_to_unicode",
    "compression_curve",
    "count_chunks",
    "count_pairs",
    "embedding_memory",
    "encode_chunk",
    "encode_throughput",
    "merge_by_rank",
    "merge_by_rank_heap",
    "merge_pair",
    "merges_from_ranks",
    "pad_batch",
    "pair_order",
    "read_gpt2_files",
    "read_tiktoken_file",
    "split_text",
    "token_array_memory",
    "token_to_unicode",
    "tokens_per_byte",
    "train_bpe",
    "train_bpe_naive",
    "unicode_to_bytes",
    "write_gpt2_files",
    "write_tiktoken_file",
]
