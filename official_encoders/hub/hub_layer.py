"""HubLayer: a Keras 3 layer over any Reusable SavedModel.

`hub.KerasLayer` only works inside tf_keras (Keras 2) models, and
`keras.layers.TFSMLayer` copies nothing of the Reusable SavedModel contract:
it calls one endpoint, ignores `training`, makes every captured variable
trainable and drops `regularization_losses`. HubLayer follows the contract:

- the `training` flag reaches the SavedModel's `__call__` (dropout on/off),
  and only when the layer is trainable, as with BatchNormalization;
- only the publisher's `trainable_variables` are trainable; the rest of
  `variables` stay frozen;
- `regularization_losses` are added to the layer's losses while trainable;
- `signature`, `output_key` and `signature_outputs_as_dict` behave as in
  `hub.KerasLayer`, and `subobject="mlm"` selects a subobject of the root.

The SavedModel's own `tf.Variable`s are wrapped (not copied) in Keras
variables, so optimizers, `fit`, `.keras` weight files and `model.export()`
all see the very variables the restored functions read.
"""

import os

import keras
import tensorflow as tf

_SAFE_MODE_MESSAGE = (
    "Refusing to deserialize a HubLayer in Keras safe mode: it loads the "
    "SavedModel named by handle={handle!r}, and a SavedModel is a program. If "
    "you trust that handle, pass safe_mode=False to keras.models.load_model "
    "or call keras.config.enable_unsafe_deserialization()."
)


def load_reusable_saved_model(handle):
    """Loads the object behind `handle`: a local path or an http(s)/hub handle."""
    from official_encoders.hub import resolver

    return tf.saved_model.load(resolver.resolve(handle))


def _select_subobject(root, subobject, handle):
    obj = root
    for part in subobject.split("."):
        if not hasattr(obj, part):
            available = sorted(
                name for name in dir(obj)
                if not name.startswith("_") and name not in ("signatures",))
            raise ValueError(
                f"HubLayer: the SavedModel {handle!r} has no subobject "
                f"{subobject!r} (missing {part!r}). Attributes found: {available}.")
        obj = getattr(obj, part)
    return obj


def _accepts_training(fn):
    """Whether `fn` (a restored function or Python callable) takes `training`."""
    from tensorflow.python.util import tf_inspect

    target = fn if tf_inspect.isfunction(fn) or tf_inspect.ismethod(fn) else getattr(
        fn, "__call__", fn)
    try:
        spec = tf_inspect.getfullargspec(target)
    except TypeError:
        return False
    return "training" in spec.args or "training" in spec.kwonlyargs


def _variable_key(variable):
    return variable.ref() if hasattr(variable, "ref") else id(variable)


def _variables_captured_by(fn):
    """Variables read by the concrete functions of `fn`, for objects without `variables`."""
    if hasattr(fn, "concrete_functions"):
        concrete = fn.concrete_functions
    elif hasattr(fn, "_list_all_concrete_functions_for_serialization"):
        concrete = fn._list_all_concrete_functions_for_serialization()
    else:
        concrete = [fn]
    trainable, everything = [], []
    for c in concrete:
        trainable.extend(getattr(c, "trainable_variables", ()))
        everything.extend(getattr(c, "variables", ()))
    return everything, trainable


def _unique(variables):
    seen, out = set(), []
    for v in variables:
        key = _variable_key(v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


@keras.saving.register_keras_serializable(package="official_encoders")
class HubLayer(keras.layers.Layer):
    """Keras 3 layer that calls a Reusable SavedModel (root or a subobject).

    Args:
      handle: a local path, an http(s) URL or any `hub.resolve`-able handle (a
        string is needed for `get_config`), or an already loaded object.
      trainable: whether the publisher's `trainable_variables` are trained.
      signature: call this signature instead of `__call__` (inference only,
        like `hub.KerasLayer`); needs `output_key` or
        `signature_outputs_as_dict=True`.
      output_key: return only this entry of a dict result.
      signature_outputs_as_dict: with `signature`, return the whole dict.
      arguments: extra keyword arguments for every call (JSON-serializable).
      subobject: dotted attribute path below the loaded root, e.g. "mlm".
      **kwargs: forwarded to `keras.layers.Layer`; `dtype` defaults to float32
        because a SavedModel's dtypes were fixed when it was saved.

    Unlike `keras.layers.TFSMLayer`, it passes `training` through (dropout), trains only
    the publisher's `trainable_variables` and adds the SavedModel's
    `regularization_losses` to the model's losses.

    Example (a classifier over an exported encoder and its preprocessor):

        preprocess = HubLayer("hub/local/all_minilm_l6_v2_preprocess/1")
        encoder = HubLayer("hub/local/all_minilm_l6_v2/1", trainable=True)
        text = keras.Input(shape=(), dtype="string")
        pooled = encoder(preprocess(text))["pooled_output"]
        model = keras.Model(text, keras.layers.Dense(2)(pooled))
    """

    def __init__(self, handle, trainable=False, signature=None, output_key=None,
                 signature_outputs_as_dict=None, arguments=None, subobject=None,
                 **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(trainable=trainable, **kwargs)
        if isinstance(handle, os.PathLike):
            handle = os.fspath(handle)
        self.handle = handle
        self.signature = signature
        self.output_key = output_key
        self.signature_outputs_as_dict = signature_outputs_as_dict
        self.arguments = dict(arguments or {})
        self.subobject = subobject
        self._check_output_options()

        root = load_reusable_saved_model(handle) if isinstance(handle, str) else handle
        # Kept as a TF trackable attribute: model.export() finds the SavedModel's
        # tables and assets through it.
        self._hub_root = root
        self._hub_object = _select_subobject(root, subobject, handle) if subobject else root
        self._callable = self._find_callable()
        self._passes_training = self.signature is None and _accepts_training(self._callable)
        self._regularization_fns = self._find_regularization_losses()
        self._wrap_variables()
        self.built = True

    def _check_output_options(self):
        if self.signature is not None and (
                (self.output_key is not None) == bool(self.signature_outputs_as_dict)):
            raise ValueError(
                "HubLayer: with signature=%r set exactly one of output_key=<name> "
                "or signature_outputs_as_dict=True." % (self.signature,))
        if self.signature is None and self.signature_outputs_as_dict:
            raise ValueError(
                "HubLayer: signature_outputs_as_dict=True needs a signature "
                "(e.g. signature='serving_default').")
        if self.signature is not None and self.trainable:
            raise ValueError(
                "HubLayer: trainable=True cannot be used with signature=%r: "
                "signatures are traced for inference (training=False) and carry "
                "no regularization losses. Call the SavedModel's __call__ "
                "instead (leave signature=None)." % (self.signature,))

    def _find_callable(self):
        obj = self._hub_object
        if self.signature is None:
            if not callable(obj):
                signatures = list(getattr(obj, "signatures", {}) or {})
                raise ValueError(
                    f"HubLayer: the object loaded from {self.handle!r} is not callable. "
                    f"Pick one of its signatures with signature=...: {signatures}.")
            return obj
        signatures = getattr(obj, "signatures", None) or {}
        if self.signature not in signatures:
            raise ValueError(
                f"HubLayer: unknown signature {self.signature!r} in {self.handle!r}; "
                f"available signatures: {sorted(signatures)}.")
        return signatures[self.signature]

    def _find_regularization_losses(self):
        fns = list(getattr(self._hub_object, "regularization_losses", None) or [])
        for fn in fns:
            if not callable(fn):
                raise ValueError(
                    f"HubLayer: regularization_losses of {self.handle!r} must be "
                    f"zero-argument callables returning a scalar; got {type(fn)}.")
        return fns

    def _wrap_variables(self):
        obj = self._hub_object
        if hasattr(obj, "variables"):
            everything = list(obj.variables)
            if hasattr(obj, "trainable_variables"):
                trainable = list(obj.trainable_variables)
            else:
                trainable = [v for v in everything if v.trainable]
        else:
            everything, trainable = _variables_captured_by(self._callable)
        trainable = _unique(trainable)
        trainable_keys = {_variable_key(v) for v in trainable}
        frozen = [v for v in _unique(everything) if _variable_key(v) not in trainable_keys]
        wanted_trainable = self.trainable
        # Track with the layer trainable so the publisher's trainable subset lands
        # in the trainable store; `trainable=False` is then applied by the setter.
        self._trainable = True
        for variable, is_trainable in [(v, True) for v in trainable] + [(v, False) for v in frozen]:
            self._track_variable(keras.Variable(
                initializer=variable, trainable=is_trainable, dtype=variable.dtype,
                shape=variable.shape, name=_keras_variable_name(variable)))
        self.trainable = wanted_trainable

    def call(self, inputs, training=None):
        kwargs = dict(self.arguments)
        if self.signature is not None:
            result = self._call_by_signature(inputs, kwargs)
        elif self._passes_training:
            # Like BatchNormalization: a frozen layer always runs in inference mode.
            training = bool(self.trainable) and training
            if training is None or isinstance(training, bool):
                result = self._callable(inputs, training=bool(training), **kwargs)
            else:
                result = tf.cond(
                    tf.cast(training, tf.bool),
                    lambda: self._callable(inputs, training=True, **kwargs),
                    lambda: self._callable(inputs, training=False, **kwargs))
        else:
            result = self._callable(inputs, **kwargs)
        if self.trainable:
            for fn in self._regularization_fns:
                self.add_loss(fn())
        return self._select_output(result)

    def _call_by_signature(self, inputs, kwargs):
        if isinstance(inputs, dict):
            kwargs.update(inputs)
        else:
            _, named = self._callable.structured_input_signature
            free = [name for name in named if name not in kwargs]
            if len(free) != 1:
                raise ValueError(
                    f"HubLayer: signature {self.signature!r} takes inputs {sorted(named)}; "
                    "pass a dict keyed by those names.")
            kwargs[free[0]] = inputs
        return self._callable(**kwargs)

    def _select_output(self, result):
        if self.output_key is None:
            return result
        if not isinstance(result, dict):
            raise ValueError(
                f"HubLayer: output_key={self.output_key!r} needs a dict result, "
                f"but {self.handle!r} returned {type(result).__name__}.")
        if self.output_key not in result:
            raise ValueError(
                f"HubLayer: output_key={self.output_key!r} is not among the outputs "
                f"of {self.handle!r}: {sorted(result)}.")
        return result[self.output_key]

    @property
    def resolved_object(self):
        """The loaded SavedModel object this layer calls (after `subobject`)."""
        return self._hub_object

    def get_config(self):
        if not isinstance(self.handle, str):
            raise NotImplementedError(
                "HubLayer.get_config needs a string handle (path or URL); this layer "
                f"was built from a {type(self.handle).__name__} object. Build it as "
                "HubLayer(handle, subobject=...) to make it serializable.")
        config = super().get_config()
        config.update({
            "handle": self.handle,
            "signature": self.signature,
            "output_key": self.output_key,
            "signature_outputs_as_dict": self.signature_outputs_as_dict,
            "arguments": dict(self.arguments),
            "subobject": self.subobject,
        })
        return config

    @classmethod
    def from_config(cls, config):
        from keras.src.saving import serialization_lib

        if serialization_lib.in_safe_mode() is True:
            raise ValueError(_SAFE_MODE_MESSAGE.format(handle=config.get("handle")))
        return cls(**config)


def _keras_variable_name(variable):
    name = variable.name.split(":")[0]
    return name.replace("/", "_") or "variable"
