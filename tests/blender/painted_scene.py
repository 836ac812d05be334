"""A Blender scene of the painted head (`painted_heads`): a sphere with a face painted in
an image texture and nothing else (no shape keys, bones or named groups), in front of a
camera that looks at its face."""

from __future__ import annotations

import bpy
import numpy as np

from painted_heads import sphere, texture

RADIUS = 0.1      # m


def painted_head_scene(size: int = 256, **paint):
    """A new empty scene holding the head "Head", its camera and a light; `paint`:
    `painted_heads.texture`'s face options. Returns the scene."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    positions, triangles, uvs = sphere()
    mesh = bpy.data.meshes.new("Head")
    mesh.from_pydata((positions * RADIUS).tolist(), [], triangles.tolist())
    layer = mesh.uv_layers.new(name="UVMap")
    layer.data.foreach_set("uv", uvs.astype(np.float32).ravel())
    mesh.update()
    head = bpy.data.objects.new("Head", mesh)
    scene.collection.objects.link(head)

    rgb = texture(**paint)
    image = bpy.data.images.new("FaceTexture", rgb.shape[1], rgb.shape[0])
    rgba = np.concatenate([rgb, np.ones(rgb.shape[:2] + (1,))], axis=2).astype(np.float32)
    image.pixels.foreach_set(rgba.ravel())
    image.pack()
    material = bpy.data.materials.new("Skin")
    if material.node_tree is None:                  # Blender < 5.0
        material.use_nodes = True
    tree = material.node_tree
    node = tree.nodes.new("ShaderNodeTexImage")
    node.image = image
    bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
    tree.links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
    head.data.materials.append(material)

    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.location, camera.rotation_euler = (0, -0.6, 0), (np.pi / 2, 0, 0)   # looks +Y
    scene.collection.objects.link(camera)
    scene.camera = camera
    light = bpy.data.objects.new("Light", bpy.data.lights.new("Light", "SUN"))
    light.rotation_euler = (np.pi / 2, 0, 0)
    scene.collection.objects.link(light)
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.color_type = "TEXTURE"
    return scene
