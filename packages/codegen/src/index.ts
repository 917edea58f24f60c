export * from "./model.js";
export { loadProtoFiles, type LoadOptions } from "./front/protobufjs.js";
export { generate, compileProtoFiles, MissingDependencyError, type CompileOptions, type GeneratedFile } from "./compile.js";
export { emitTypeScript, emitDeclarations, modulePath, GENERATOR_VERSION, type EmitOptions } from "./emit/file.js";
export { SERVICES_MODES, commentLines, isServicesMode, type ServicesMode } from "./emit/service.js";
export { main } from "./cli.js";
export { fileModelsFromDescriptors, type DescriptorOptions } from "./front/descriptors.js";
export { runPlugin, runPluginBinary, parsePluginParameter, PluginParameterError, type PluginOptions } from "./plugin.js";
