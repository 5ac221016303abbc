package io.tessera.models;

import io.tessera.core.tape.Var;

/**
 * What an {@link Encoder} records. Shapes: B batch, T sequence, C hidden.
 *
 * <p>Thread safety: immutable record; the values belong to the tape.
 *
 * @param sequence {@code [B, T, C]}, the last hidden states (after the final LayerNorm for pre-LN), replicated
 * @param pooled {@code [B, C]}, tanh of the pooler on the first token (BERT with a pooler), replicated;
 *     null when the encoder has no pooler
 */
public record EncoderOutput(Var sequence, Var pooled) {}
